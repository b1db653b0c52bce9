// Config rules for node autoscaling on EKS: what Karpenter needs from the pools, and what a stack
// without Karpenter cannot do. Reported like the rules in configRules.ts.
import type { EksClusterConfig } from "./configSchema.js";
import type { IssuePath, Report } from "./configRules.js";
import { hasWorkers, type ResolvedPool } from "./configTypes.js";
import { isKarpenterPool } from "./karpenterNodePools.js";
import { karpenterTooOld } from "./karpenterVersions.js";

const SYSTEM_POOL_EXAMPLE = "`system: {gpu: cpu, minNodes: 2, maxNodes: 3, maxReplicas: 0}`";

export function checkKarpenter(cluster: EksClusterConfig, pools: ResolvedPool[], report: Report): void {
  const k = cluster.karpenter;
  const at = (...path: (string | number)[]): IssuePath => ["cluster", "karpenter", ...path];
  if (!k.install) {
    // Without an autoscaler a node group stays at its desired size (minNodes) for good.
    for (const pool of pools) {
      if (hasWorkers(pool) && pool.maxNodes > pool.minNodes) {
        report(
          ["pools", pool.name, "maxNodes"],
          `with cluster.karpenter.install false nothing adds nodes to pool "${pool.name}" beyond minNodes (${pool.minNodes}), so maxNodes ${pool.maxNodes} is never reached`,
          `install Karpenter (cluster.karpenter.install: true) or set minNodes = maxNodes (${pool.maxNodes})`,
        );
      }
    }
    return;
  }

  const tooOld = cluster.version ? karpenterTooOld(k.version, cluster.version) : undefined;
  if (tooOld) {
    report(at("version"), `Karpenter ${k.version} does not support Kubernetes ${cluster.version}`, `use Karpenter ${tooOld} or later`);
  }

  // The controller (and CoreDNS, the pod identity agent) must run on nodes that exist without it.
  const groups = pools.filter((p) => p.enabled && !isKarpenterPool(p));
  if (!groups.some((p) => p.minNodes > 0)) {
    report(
      ["pools"],
      "Karpenter's controller needs nodes that exist before Karpenter does: a cpu pool with maxReplicas 0 and minNodes of at least 1 (it stays a managed node group)",
      `add a pool such as ${SYSTEM_POOL_EXAMPLE}`,
    );
  }
}
