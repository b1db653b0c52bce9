/**
 * Room a node autoscaler in the cluster can add for a pool: the Karpenter NodePools whose nodes
 * the pool's workers would land on. GKE and EKS stacks know their node pools' bounds from their
 * own config; on a cluster the stack does not create (an existing one, the embedded one), a
 * Pending worker gets a node only if some NodePool there makes one it fits. Pure.
 */
import { parseQuantity } from "../../../infra/hardware/quantity.js";
import { GPU_RESOURCE } from "../../../infra/hardware/gpuProfiles.js";
import { blockingTaints, type Taint, type Toleration } from "./tolerations.js";

/** What this reads of a `karpenter.sh/v1` NodePool. */
export interface NodePoolLike {
  metadata?: { name?: string };
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { taints?: Taint[]; requirements?: { key: string; operator: string; values?: string[] }[] };
    };
    limits?: Record<string, string | number>;
  };
  status?: { resources?: Record<string, string | number> };
}

export interface GrowthDemand {
  /** The workers' nodeSelector. */
  selector: Record<string, string>;
  tolerations: readonly Toleration[];
  /** GPUs a node of the pool carries (0 for cpu pools): how the NodePools' GPU limits turn into nodes. */
  gpusPerNode: number;
  workersPerNode: number;
  /** The stack's own bound: maxNodes minus the nodes that match already. */
  maxNew: number;
}

/** Whether a node the NodePool makes carries every label the workers select. */
function selects(np: NodePoolLike, selector: Record<string, string>): boolean {
  const labels = np.spec?.template?.metadata?.labels ?? {};
  const reqs = np.spec?.template?.spec?.requirements ?? [];
  return Object.entries(selector).every(([k, v]) => labels[k] === v || reqs.some((r) => r.key === k && r.operator === "In" && (r.values ?? []).includes(v)));
}

/** Nodes the NodePool may still add for these workers: unbounded (Infinity) unless its GPU limit says otherwise. */
function room(np: NodePoolLike, gpusPerNode: number): number {
  const limit = np.spec?.limits?.[GPU_RESOURCE];
  if (limit === undefined || gpusPerNode <= 0) return Number.POSITIVE_INFINITY;
  const used = parseQuantity(np.status?.resources?.[GPU_RESOURCE] ?? 0);
  return Math.max(0, Math.floor((parseQuantity(limit) - used) / gpusPerNode));
}

/**
 * The growth the NodePools give a pool (undefined when none would make a node its workers fit):
 * the NodePools that label their nodes as the workers select and whose taints they tolerate,
 * within their GPU limits, and never more than the stack's own maxNodes allows.
 */
export function nodePoolGrowth(
  nodePools: readonly NodePoolLike[],
  d: GrowthDemand,
): { nodes: number; workersPerNode: number; nodePools: string[] } | undefined {
  const fitting = nodePools.filter((np) => selects(np, d.selector) && blockingTaints(np.spec?.template?.spec?.taints ?? [], d.tolerations).length === 0);
  if (fitting.length === 0) return undefined;
  const nodes = Math.min(
    Math.max(0, d.maxNew),
    fitting.reduce((sum, np) => sum + room(np, d.gpusPerNode), 0),
  );
  return { nodes, workersPerNode: d.workersPerNode, nodePools: fitting.map((np) => np.metadata?.name ?? "?") };
}
