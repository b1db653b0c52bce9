// Which version a release serves, read from the cluster the same way whichever tool upgrades it,
// so sie-fleet and Helm are timed by one yardstick. A release serves version V when every
// gateway, config and worker pod that is not terminating runs V and is Ready and every
// Deployment and StatefulSet has all its replicas Ready: what the Services route to (the endpoint
// server answers for exactly those pods) is then V only, at full strength.
import * as k8s from "@kubernetes/client-node";
import { isPodReady } from "../automation/kube/podHealth.js";
import { listModels } from "../automation/verify/endpoints.js";
import { CHART_LABELS } from "../core/workloads.js";
import { parseImage } from "../cluster/faults.js";

const SERVING_COMPONENTS = ["gateway", "config", "worker"];

export interface ServedSample {
  /** Epoch ms, comparable with journal timestamps and Date.now(). */
  at: number;
  /** The image base tag (`v0.3.1`, `v0.3.2-5xx`) the whole release serves; undefined while mixed, degraded or unreadable. */
  version?: string;
}

export async function servedVersion(core: k8s.CoreV1Api, apps: k8s.AppsV1Api, namespace: string): Promise<string | undefined> {
  const [pods, sts, deps] = await Promise.all([
    core.listNamespacedPod({ namespace, labelSelector: `${CHART_LABELS.component} in (${SERVING_COMPONENTS.join(",")})` }),
    apps.listNamespacedStatefulSet({ namespace }),
    apps.listNamespacedDeployment({ namespace }),
  ]);
  const full = [...sts.items, ...deps.items].every((w) => (w.status?.readyReplicas ?? 0) === (w.spec?.replicas ?? 1));
  const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
  if (!full || live.length === 0 || !live.every(isPodReady)) return undefined;
  const tags = new Set(live.map((p) => parseImage(p.spec?.containers[0]?.image ?? "").baseTag));
  return tags.size === 1 ? [...tags][0] : undefined;
}

export interface ServedVersionWatch {
  /** The samples so far, oldest first. */
  readonly samples: readonly ServedSample[];
  /** Stops polling and returns every sample taken. */
  stop(): Promise<ServedSample[]>;
}

/** Polls servedVersion every `everyMs` until stopped; a failed read is a sample without a version. */
export function watchServedVersion(kubeconfigPath: string, namespace: string, everyMs = 250): ServedVersionWatch {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const samples: ServedSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const version = await servedVersion(core, apps, namespace).catch(() => undefined);
      samples.push({ at, ...(version ? { version } : {}) });
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - at))));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** The first sample at or after `from` in which the release serves `version` only, or undefined. */
export function firstServing(samples: readonly ServedSample[], version: string, from: number): ServedSample | undefined {
  return samples.find((s) => s.at >= from && s.version === version);
}

export interface EncodeReply {
  status: number;
  /** X-SIE-Server-Version: the worker that answered. */
  version?: string;
}

/**
 * One encode of the gateway's first model through the bench cluster's endpoint server, which
 * answers as the release's Ready pods would: shows what a version that Helm let through serves.
 */
export async function encodeOnce(endpointsUrl: string, namespace: string): Promise<EncodeReply | { error: string }> {
  const gateway = `${endpointsUrl}/namespaces/${namespace}/gateway`;
  const l = await listModels(fetch, gateway, AbortSignal.timeout(10_000));
  const model = "models" in l ? l.models[0] : undefined;
  if (!model) return { error: "models" in l ? `GET ${l.url} listed no model` : l.message };
  const r = await fetch(`${gateway}/v1/encode/${encodeURIComponent(model)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: [{ text: "bench" }] }),
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  const version = r.headers.get("x-sie-server-version");
  return { status: r.status, ...(version ? { version } : {}) };
}
