// The NodePools and KWOKNodeClasses that let Karpenter's kwok provider add a GKE or EKS stack's
// nodes in the embedded cluster. The NodePools are the ones the EKS program creates (buildNodePool:
// labels, taints, the pool's one machine type, capacity type, limits, WhenEmpty consolidation), with
// a KWOKNodeClass in place of the EC2NodeClass and, for GKE, the labels GKE puts on its nodes, so a
// node Karpenter makes here looks like one that cloud would add to the pool.
import { UsageError } from "../../core/errors.js";
import { isKarpenterDuration } from "../../infra/config/configSchema.js";
import type { EksFleetConfig, GkeFleetConfig } from "../../infra/config/configTypes.js";
import { NODE_POOL_LABEL } from "../../infra/hardware/gpuProfiles.js";
import { buildNodePool, nodePoolName, type NodePoolManifest } from "../../infra/platforms/karpenterNodePools.js";
import { gkeNodeLabels, scaledByKarpenter } from "../nodes.js";

export { isKarpenterDuration };

export const KWOK_NODE_CLASS_API_VERSION = "karpenter.kwok.sh/v1alpha1";
const KWOK_NODE_CLASS_GROUP = "karpenter.kwok.sh";
const KWOK_NODE_CLASS_KIND = "KWOKNodeClass";

/** Cluster-scoped; Ready through its CRD's status default, so no controller has to make it so. */
export interface KwokNodeClassManifest {
  apiVersion: typeof KWOK_NODE_CLASS_API_VERSION;
  kind: typeof KWOK_NODE_CLASS_KIND;
  metadata: { name: string; labels: Record<string, string> };
  spec: { nodeRegistrationDelay: string };
}

export interface KwokNodePoolOptions {
  /** How long a Karpenter node must be empty before it is removed (Karpenter duration, or Never). */
  consolidateAfter: string;
  /** How long after launch a node registers (stands for the machine booting), e.g. 30s or 1m30s. */
  registrationDelay: string;
}

/** Refuses what Karpenter's CRDs would: `what` names the setting. */
function checkDuration(what: string, value: string, never: boolean): void {
  if (isKarpenterDuration(value, { never })) return;
  throw new UsageError(`${what} ${JSON.stringify(value)} is not a Karpenter duration`, {
    code: "bad-karpenter-duration",
    hint: `give whole numbers with s, m or h, e.g. ${never ? "30s, 10m or 1h30m, or Never" : "0s, 30s, 2m or 1m30s"}`,
  });
}

/**
 * A pool's KWOKNodeClass, named like its NodePool. Its nodeRegistrationDelay is how long the
 * provider waits after launching a node before it creates the Node.
 */
export function kwokNodeClass(poolName: string, registrationDelay: string): KwokNodeClassManifest {
  checkDuration("node registration delay", registrationDelay, false);
  return {
    apiVersion: KWOK_NODE_CLASS_API_VERSION,
    kind: KWOK_NODE_CLASS_KIND,
    metadata: { name: nodePoolName(poolName), labels: { [NODE_POOL_LABEL]: poolName } },
    spec: { nodeRegistrationDelay: registrationDelay },
  };
}

/** Label domains Karpenter v1.14 (with the kwok provider) keeps for itself, and the keys of them it lets NodePools set. */
const RESTRICTED_DOMAINS = ["karpenter.sh", "karpenter.kwok.sh"];
const WELL_KNOWN_KEYS = new Set([
  "karpenter.sh/capacity-type",
  "karpenter.kwok.sh/instance-size",
  "karpenter.kwok.sh/instance-family",
  "karpenter.kwok.sh/instance-cpu",
  "karpenter.kwok.sh/instance-memory",
]);
/** Keys Karpenter sets on every node itself. */
const RESTRICTED_KEYS = new Set(["karpenter.sh/nodepool", "kubernetes.io/hostname"]);

/** Why Karpenter would refuse `key` among a NodePool's template labels, or undefined when it takes it. */
export function karpenterLabelProblem(key: string): string | undefined {
  if (RESTRICTED_KEYS.has(key)) return `label ${key} is set by Karpenter itself`;
  if (WELL_KNOWN_KEYS.has(key)) return undefined;
  const domain = key.includes("/") ? key.slice(0, key.indexOf("/")) : "";
  const restricted = RESTRICTED_DOMAINS.find((d) => domain === d || domain.endsWith(`.${d}`));
  return restricted ? `label ${key} is in Karpenter's restricted domain ${restricted}` : undefined;
}

/**
 * The KWOKNodeClass and NodePool of every pool Karpenter scales in the embedded cluster
 * (scaledByKarpenter: on EKS those its own Karpenter would, on GKE every pool that can grow), in
 * config order. The nodes below minNodes stay static nodes (cloudNodes with `karpenter`).
 */
export function kwokNodePools(
  cfg: GkeFleetConfig | EksFleetConfig,
  opts: KwokNodePoolOptions,
): { nodeClasses: KwokNodeClassManifest[]; nodePools: NodePoolManifest[] } {
  checkDuration("consolidateAfter", opts.consolidateAfter, true);
  checkDuration("node registration delay", opts.registrationDelay, false);
  const pools = Object.values(cfg.pools).filter((p) => scaledByKarpenter(cfg, p));
  const nodeClasses = pools.map((p) => kwokNodeClass(p.name, opts.registrationDelay));
  const nodePools = pools.map((pool) => {
    const np = buildNodePool(pool, {
      consolidateAfter: opts.consolidateAfter,
      nodeClassRef: { group: KWOK_NODE_CLASS_GROUP, kind: KWOK_NODE_CLASS_KIND, name: nodePoolName(pool.name) },
      // EKS: Karpenter's own labels are all a Karpenter node gets beyond the pool's.
      ...(cfg.platform === "gke" ? { cloudLabels: gkeNodeLabels(pool) } : {}),
    });
    const refused = Object.keys(np.spec.template.metadata.labels).flatMap((k) => karpenterLabelProblem(k) ?? []);
    if (refused.length > 0) throw new Error(`pool ${pool.name}: Karpenter would refuse its NodePool: ${refused.join("; ")}`);
    return np;
  });
  return { nodeClasses, nodePools };
}
