import type { Json, KObject, ObjectStore } from "../store.js";
import { T } from "../resources.js";
import { fromLabelSelector, matchesSelector } from "../api/selectors.js";
import { isTerminating } from "./workload.js";

/** Node used when the cluster has no Node objects at all, so a bare setup still runs pods. */
export const DEFAULT_NODE = "sim-node";

export const GPU_RESOURCE = "nvidia.com/gpu";

export type ScheduleResult = { node: string } | { unschedulable: string };

function tolerates(tolerations: Json[], taint: Json): boolean {
  return tolerations.some((tol) => {
    if (tol.effect && tol.effect !== taint.effect) return false;
    if (!tol.key) return tol.operator === "Exists";
    if (tol.key !== taint.key) return false;
    return tol.operator === "Exists" || (tol.value ?? "") === (taint.value ?? "");
  });
}

function matchesAffinity(pod: KObject, labels: Record<string, string>): boolean {
  const terms: Json[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return true;
  return terms.some((term) => matchesSelector(fromLabelSelector({ matchExpressions: term.matchExpressions ?? [] }), labels));
}

export function gpuRequest(pod: KObject): number {
  let n = 0;
  for (const c of pod.spec?.containers ?? []) {
    const v = c.resources?.limits?.[GPU_RESOURCE] ?? c.resources?.requests?.[GPU_RESOURCE];
    if (v !== undefined) n += Number(v) || 0;
  }
  return n;
}

/**
 * A small scheduler: nodeSelector, required node affinity, NoSchedule/NoExecute taints and,
 * when a node declares `status.allocatable["nvidia.com/gpu"]`, GPU capacity. Nodes without that
 * field are treated as having room, so label-only fake nodes work. Picks the emptiest fit.
 */
export function schedule(store: ObjectStore, pod: KObject): ScheduleResult {
  const nodes = store.list(T.nodes);
  if (nodes.length === 0) return { node: DEFAULT_NODE };
  const pods = store.list(T.pods).filter((p) => p.spec?.nodeName && !isTerminating(p) && p.metadata.uid !== pod.metadata.uid);
  const selector = pod.spec?.nodeSelector ?? {};
  const tolerations: Json[] = pod.spec?.tolerations ?? [];
  const want = gpuRequest(pod);
  const reasons = new Map<string, number>();
  const bump = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
  let best: { name: string; load: number } | undefined;
  for (const node of nodes) {
    const labels: Record<string, string> = node.metadata.labels ?? {};
    if (node.spec?.unschedulable) {
      bump("node(s) were unschedulable");
      continue;
    }
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v) || !matchesAffinity(pod, labels)) {
      bump("node(s) didn't match Pod's node affinity/selector");
      continue;
    }
    const taint = (node.spec?.taints ?? []).find(
      (t: Json) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(tolerations, t),
    );
    if (taint) {
      bump(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`);
      continue;
    }
    const onNode = pods.filter((p) => p.spec.nodeName === node.metadata.name);
    const alloc = node.status?.allocatable?.[GPU_RESOURCE];
    if (want > 0 && alloc !== undefined) {
      const used = onNode.reduce((s, p) => s + gpuRequest(p), 0);
      if (used + want > Number(alloc)) {
        bump(`Insufficient ${GPU_RESOURCE}`);
        continue;
      }
    }
    if (!best || onNode.length < best.load) best = { name: node.metadata.name, load: onNode.length };
  }
  if (best) return { node: best.name };
  const detail = [...reasons.entries()].map(([r, n]) => `${n} ${r}`).join(", ");
  return { unschedulable: `0/${nodes.length} nodes are available: ${detail}.` };
}
