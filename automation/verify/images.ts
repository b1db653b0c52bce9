// Every pod of the workloads in scope runs the expected tag: gateway and config pods the tag
// itself, workers the tag plus the chart's `-<platform>-<bundle>` suffix. Both the pod spec and
// the kubelet's containerStatuses image are compared, so a pod created from an old template (or
// a node that resolved a different image) shows up. Old pods still present are "pending": the
// rollout may not have replaced them yet.
import type { V1Pod } from "@kubernetes/client-node";
import { selectorString, statefulSetPods } from "../kube/index.js";
import { CHART_LABELS, type Workload } from "../../core/workloads.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

/** "ghcr.io/x/sie-server:v1-cuda12-default@sha256:…" → "v1-cuda12-default"; undefined without a tag. */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split("@")[0]!;
  const colon = noDigest.lastIndexOf(":");
  return colon > noDigest.lastIndexOf("/") ? noDigest.slice(colon + 1) : undefined;
}

/**
 * Whether `tag` is the release tag for this component. Worker tags are `<tag>-<platform>-<bundle>`
 * with a platform without '-', so "v0.3.2-errors10-cuda12-default" is NOT "v0.3.2".
 */
export function tagMatches(tag: string | undefined, expect: string, component: Workload["component"], bundle?: string): boolean {
  if (tag === undefined) return false;
  if (component !== "worker") return tag === expect;
  if (!tag.startsWith(`${expect}-`)) return false;
  const rest = tag.slice(expect.length + 1);
  if (bundle) return rest.endsWith(`-${bundle}`) && /^[A-Za-z0-9_.]+$/.test(rest.slice(0, -(bundle.length + 1)));
  return /^[A-Za-z0-9_.]+-[A-Za-z0-9_.-]+$/.test(rest);
}

export function imageChecks(ctx: VerifyContext): Check[] {
  return workloadsInScope(ctx).map((w) => imageCheck(ctx, w));
}

function imageCheck(ctx: VerifyContext, w: Workload): Check {
  const ns = ctx.names.namespace;
  const expectTag = w.component === "worker" ? ctx.expectTag : (ctx.componentTags?.[w.component] ?? ctx.expectTag);
  return {
    name: `images:${w.kind}/${w.name}`,
    async run() {
      let pods: V1Pod[];
      if (w.kind === "StatefulSet") pods = await statefulSetPods(ctx.kube.api, ns, await ctx.kube.api.getStatefulSet(ns, w.name));
      else pods = await ctx.kube.api.listPods(ns, selectorString((await ctx.kube.api.getDeployment(ns, w.name)).spec?.selector));
      // Terminating pods are on their way out; judging them would fail every rolling update.
      const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
      const wrong: { pod: string; image: string; expected: string }[] = [];
      const seen = new Set<string>();
      for (const p of live) {
        const bundle = p.metadata?.labels?.[CHART_LABELS.bundle];
        // The SIE container is the pod's first container in the chart; sidecars are not judged.
        const main = p.spec?.containers?.[0];
        const status = p.status?.containerStatuses?.find((c) => c.name === main?.name);
        for (const image of [main?.image, status?.image]) {
          if (!image) continue;
          seen.add(image);
          if (!tagMatches(imageTag(image), expectTag, w.component, bundle)) {
            wrong.push({
              pod: p.metadata?.name ?? "?",
              image,
              expected: w.component === "worker" ? `${expectTag}-<platform>-${bundle ?? "<bundle>"}` : expectTag,
            });
            break;
          }
        }
      }
      const evidence = { expectTag, podCount: live.length, images: [...seen].sort(), ...(wrong.length ? { wrong } : {}) };
      if (wrong.length > 0) {
        return {
          status: "pending",
          message: `${wrong.length}/${live.length} pod(s) of ${w.name} run another tag: ${wrong[0]!.pod} runs ${wrong[0]!.image}`,
          evidence,
        };
      }
      if (live.length === 0) return { status: "pass", message: `${w.kind} ${w.name} has no pods (scaled to zero)`, evidence };
      return { status: "pass", message: `${live.length} pod(s) of ${w.name} run ${expectTag}`, evidence };
    },
  };
}
