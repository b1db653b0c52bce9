/**
 * Can a pool's nodes hold its workers through a rollout? Pure: nodes, their other pods' requests
 * and the pool's workers in, a verdict with one readable sentence per problem out.
 *
 * A StatefulSet rollout replaces each worker in place (delete, then create; no surge), so the
 * workers running now must fit again on nodes that take new pods: Ready, not cordoned, no taint the
 * workers do not tolerate. Room their own pods hold counts as theirs; what other pods request does
 * not. A pool probed from zero needs room for its probe worker on top. A worker on a NotReady node
 * blocks the rollout on its own (its pod cannot be confirmed deleted without a kubelet), and an
 * unschedulable worker shows the pool is short already.
 */
import { formatQuantity } from "../../../infra/hardware/quantity.js";
import { blockingTaints, taintText, type Taint, type Toleration } from "./tolerations.js";

/** Resource name → amount in base units (cores, bytes, devices, pods). */
export type Resources = Record<string, number>;

export interface NodeView {
  name: string;
  ready: boolean;
  /** The Ready condition's reason (and message) when not Ready. */
  notReadyReason?: string;
  unschedulable: boolean;
  taints: Taint[];
  allocatable: Resources;
  /** Summed requests of the pods bound to the node that are not workers of the pool judged. */
  usedByOthers: Resources;
}

export interface WorkerView {
  pod: string;
  /** The node it is bound to; undefined while unscheduled. */
  node?: string;
  /** Set while the scheduler cannot place it: PodScheduled=False's message. */
  unschedulable?: string;
}

export interface PoolDemand {
  pool: string;
  /** The workers' nodeSelector. */
  selector: Record<string, string>;
  tolerations: readonly Toleration[];
  /** Requests of one worker, "pods": 1 included. */
  perWorker: Resources;
  /** Workers the pool runs now: the count KEDA is frozen at during the run. */
  replicas: number;
  /** Workers the rollout starts beside them: 1 to probe a pool at zero, else 0. */
  surge: number;
  /** Nodes the pool's own node group may still add (GKE/EKS autoscaling), each holding `workersPerNode`. */
  growth?: { nodes: number; workersPerNode: number };
}

export interface PoolCapacity {
  pool: string;
  ok: boolean;
  replicas: number;
  surge: number;
  /** Workers the usable nodes can hold, the pool's own running workers included. */
  fit: number;
  /** Workers new nodes of the pool's node group could add. */
  growth: number;
  nodes: {
    matching: number;
    usable: number;
    notReady: { name: string; reason: string }[];
    cordoned: string[];
    tainted: { name: string; taints: string[] }[];
  };
  pendingWorkers: { pod: string; message: string }[];
  workersOnNotReadyNodes: { pod: string; node: string }[];
  /** What is wrong, one sentence each; empty when ok. */
  problems: string[];
  /** One line for people: the problems, or what fits. */
  message: string;
}

const EPSILON = 1e-9;

function selectorText(selector: Record<string, string>): string {
  const parts = Object.entries(selector).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(",") : "(any node)";
}

/** Workers of `perWorker` one node can take given what others already request there. */
export function workersOnNode(node: Pick<NodeView, "allocatable" | "usedByOthers">, perWorker: Resources): number {
  let fit = Number.POSITIVE_INFINITY;
  for (const [r, want] of Object.entries(perWorker)) {
    if (want <= 0) continue;
    const free = (node.allocatable[r] ?? 0) - (node.usedByOthers[r] ?? 0);
    fit = Math.min(fit, Math.max(0, Math.floor(free / want + EPSILON)));
  }
  return fit === Number.POSITIVE_INFINITY ? 0 : fit;
}

export function assessPoolCapacity(demand: PoolDemand, nodes: readonly NodeView[], workers: readonly WorkerView[]): PoolCapacity {
  const notReady = nodes.filter((n) => !n.ready).map((n) => ({ name: n.name, reason: n.notReadyReason ?? "not Ready" }));
  const cordoned = nodes.filter((n) => n.ready && n.unschedulable).map((n) => n.name);
  const tainted = nodes
    .filter((n) => n.ready && !n.unschedulable)
    .map((n) => ({ name: n.name, taints: blockingTaints(n.taints, demand.tolerations).map(taintText) }))
    .filter((n) => n.taints.length > 0);
  const excluded = new Set([...notReady.map((n) => n.name), ...cordoned, ...tainted.map((n) => n.name)]);
  const usable = nodes.filter((n) => !excluded.has(n.name));

  const need = demand.replicas + demand.surge;
  const fit = usable.reduce((sum, n) => sum + workersOnNode(n, demand.perWorker), 0);
  const growth = demand.growth ? demand.growth.nodes * demand.growth.workersPerNode : 0;
  const notReadyNames = new Map(notReady.map((n) => [n.name, n.reason]));
  const pendingWorkers = workers.filter((w) => w.unschedulable !== undefined).map((w) => ({ pod: w.pod, message: w.unschedulable ?? "" }));
  const workersOnNotReadyNodes = workers.filter((w) => w.node !== undefined && notReadyNames.has(w.node)).map((w) => ({ pod: w.pod, node: w.node! }));

  const problems: string[] = [];
  for (const w of workersOnNotReadyNodes) {
    problems.push(
      `worker ${w.pod} is on node ${w.node}, which is NotReady (${notReadyNames.get(w.node)}); a rollout would wait on that pod until the node is back`,
    );
  }
  for (const w of pendingWorkers) problems.push(`worker ${w.pod} is Pending, unschedulable: ${w.message || "no reason given"}`);
  const sel = selectorText(demand.selector);
  if (fit + growth < need) problems.push(shortage(demand, need, fit, growth, nodes.length, usable, sel, { notReady, cordoned, tainted }));

  const ok = problems.length === 0;
  const growNote = fit < need && ok ? `; the node pool must add room for ${need - fit} (it may add ${growth})` : "";
  // Nodes left out are named even when the rest suffice: they are the next shortage.
  const okText =
    need === 0
      ? "runs 0 workers; nothing to place"
      : `${workersText(demand, need)} fit: room for ${fit} on ${usable.length} node(s) labelled ${sel}${excludedText({ notReady, cordoned, tainted })}${growNote}`;
  return {
    pool: demand.pool,
    ok,
    replicas: demand.replicas,
    surge: demand.surge,
    fit,
    growth,
    nodes: { matching: nodes.length, usable: usable.length, notReady, cordoned, tainted },
    pendingWorkers,
    workersOnNotReadyNodes,
    problems,
    message: `pool ${demand.pool}: ${ok ? okText : problems.join("; ")}`,
  };
}

/** "3 workers need 3 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 2 allocatable (1 node NotReady: …)". */
function shortage(
  demand: PoolDemand,
  need: number,
  fit: number,
  growth: number,
  matching: number,
  usable: readonly NodeView[],
  sel: string,
  out: Pick<PoolCapacity["nodes"], "notReady" | "cordoned" | "tainted">,
): string {
  const workers = workersText(demand, need);
  const excluded = excludedText(out);
  const grow = growth > 0 ? `; the node pool may add room for ${growth} more` : "";
  const one = need === 1;
  if (matching === 0) return `${workers} ${one ? "needs" : "need"} nodes labelled ${sel}, and there are none${grow}`;
  // The resource that runs out first, if one alone explains the shortage; else fragmentation. On a
  // tie the accelerator is named (extended resources have a domain: nvidia.com/gpu), pods last.
  let binding: { r: string; fit: number } | undefined;
  for (const [r, want] of Object.entries(demand.perWorker).sort(([a], [b]) => rank(a) - rank(b))) {
    if (want <= 0) continue;
    const rFit = usable.reduce((sum, n) => sum + workersOnNode(n, { [r]: want }), 0);
    if (!binding || rFit < binding.fit) binding = { r, fit: rFit };
  }
  if (!binding || binding.fit > fit) {
    const perNode = usable.map((n) => `${n.name} ${workersOnNode(n, demand.perWorker)}`).join(", ");
    return `${workers} ${one ? "does" : "do"} not fit: the ${usable.length} usable node(s) labelled ${sel} have room for ${fit}${perNode ? ` (per node: ${perNode})` : ""}${excluded}${grow}`;
  }
  const { r } = binding;
  const want = demand.perWorker[r] ?? 0;
  const alloc = usable.reduce((s, n) => s + (n.allocatable[r] ?? 0), 0);
  const used = usable.reduce((s, n) => s + Math.min(n.allocatable[r] ?? 0, n.usedByOthers[r] ?? 0), 0);
  const have =
    used > 0
      ? `${formatQuantity(r, alloc - used)} free (${formatQuantity(r, alloc)} allocatable, ${formatQuantity(r, used)} requested by other pods)`
      : `${formatQuantity(r, alloc)} allocatable`;
  return `${workers} ${one ? "needs" : "need"} ${formatQuantity(r, need * want)} ${r}, nodes labelled ${sel} have ${have}${excluded}${grow}`;
}

function rank(resource: string): number {
  return resource.includes("/") ? 0 : resource === "pods" ? 2 : 1;
}

function workersText(demand: PoolDemand, need: number): string {
  return `${need} worker${need === 1 ? "" : "s"}${demand.surge > 0 ? ` (${demand.replicas} running + ${demand.surge} probe)` : ""}`;
}

function excludedText(out: Pick<PoolCapacity["nodes"], "notReady" | "cordoned" | "tainted">): string {
  const parts = [
    ...(out.notReady.length ? [`${out.notReady.length} node(s) NotReady: ${out.notReady.map((n) => `${n.name} (${n.reason})`).join(", ")}`] : []),
    ...(out.cordoned.length ? [`${out.cordoned.length} node(s) cordoned: ${out.cordoned.join(", ")}`] : []),
    ...(out.tainted.length ? [`${out.tainted.length} node(s) tainted: ${out.tainted.map((n) => `${n.name} (${n.taints.join(", ")})`).join(", ")}`] : []),
  ];
  return parts.length ? ` (${parts.join("; ")})` : "";
}
