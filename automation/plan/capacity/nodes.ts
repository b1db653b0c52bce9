/**
 * Nodes and what is placed on them, as the capacity check sees them (plan/capacity/poolCapacity.ts):
 * readiness, cordon, taints, allocatable, and the requests of the pods bound there. Requests are
 * summed the way the scheduler sums them: the containers, or the largest init container if that
 * is more, plus the pod overhead.
 */
import type { V1Node, V1Pod, V1ResourceRequirements } from "@kubernetes/client-node";
import type { NodeView, Resources, WorkerView } from "./poolCapacity.js";
import { parseQuantity } from "../../../infra/hardware/quantity.js";
import type { KubeApi } from "../../kube/api.js";

/** Every pod takes one of the node's `pods` slots. */
const POD_SLOT = "pods";

function toResources(map: Record<string, string | number> | undefined): Resources {
  const out: Resources = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k] = parseQuantity(v);
  return out;
}

function add(into: Resources, more: Resources): Resources {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** What the scheduler reserves for the pod on its node. */
export function podRequests(pod: V1Pod): Resources {
  const requests = (r: V1ResourceRequirements | undefined) => toResources(r?.requests as Record<string, string> | undefined);
  const containers = (pod.spec?.containers ?? []).reduce((sum, c) => add(sum, requests(c.resources)), {} as Resources);
  for (const init of pod.spec?.initContainers ?? []) {
    for (const [k, v] of Object.entries(requests(init.resources))) containers[k] = Math.max(containers[k] ?? 0, v);
  }
  add(containers, toResources(pod.spec?.overhead as Record<string, string> | undefined));
  containers[POD_SLOT] = 1;
  return containers;
}

function nodeReadiness(node: V1Node): { ready: boolean; reason?: string } {
  const c = node.status?.conditions?.find((x) => x.type === "Ready");
  if (c?.status === "True") return { ready: true };
  if (!c) return { ready: false, reason: "no Ready condition" };
  return { ready: false, reason: [`Ready=${c.status}`, c.reason, c.message].filter(Boolean).join(", ") };
}

/** The node as the capacity check sees it; `ownPods` (uids) are the judged pool's workers, whose room counts as theirs. */
export function nodeView(node: V1Node, pods: readonly V1Pod[], ownPods: ReadonlySet<string>): NodeView {
  const { ready, reason } = nodeReadiness(node);
  const usedByOthers = pods.filter((p) => !ownPods.has(p.metadata?.uid ?? "")).reduce((sum, p) => add(sum, podRequests(p)), {} as Resources);
  return {
    name: node.metadata?.name ?? "?",
    ready,
    ...(reason ? { notReadyReason: reason } : {}),
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
    allocatable: toResources(node.status?.allocatable),
    usedByOthers,
  };
}

export function workerView(pod: V1Pod): WorkerView {
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  const unplaced = !pod.spec?.nodeName && pod.status?.phase === "Pending" && scheduled?.status === "False";
  return {
    pod: pod.metadata?.name ?? "?",
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(unplaced ? { unschedulable: [scheduled?.reason, scheduled?.message].filter(Boolean).join(": ") } : {}),
  };
}

/**
 * Reads nodes by label and the pods bound to them, each node's pods once however many pools
 * select it: one reader per capacity check.
 */
export class NodeReader {
  private readonly pods = new Map<string, Promise<V1Pod[]>>();
  constructor(private readonly kube: KubeApi) {}

  async nodes(selector: Record<string, string>): Promise<{ node: V1Node; pods: V1Pod[] }[]> {
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const nodes = await this.kube.listNodes(labelSelector || undefined);
    return Promise.all(nodes.map(async (node) => ({ node, pods: await this.podsOn(node.metadata?.name ?? "") })));
  }

  private podsOn(name: string): Promise<V1Pod[]> {
    let p = this.pods.get(name);
    if (!p) {
      p = this.kube.listPodsOnNode(name);
      this.pods.set(name, p);
    }
    return p;
  }
}
