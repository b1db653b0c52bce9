// Config rules for node autoscaling on EKS (cluster.nodeAutoscaler): what the node groups of a stack
// without an outside autoscaler can do, what Karpenter needs from the pools, and which Karpenter
// the controller policy allows. Reported like the rules in configRules.ts.
import { DEFAULT_KARPENTER_VERSION, type EksClusterConfig } from "./configSchema.js";
import type { IssuePath, Report } from "./configReport.js";
import type { ResolvedPool } from "./configTypes.js";
import { CONTROLLER_POLICY_KARPENTER_MINOR } from "../platforms/karpenterIam.js";
import { isKarpenterPool } from "../platforms/karpenterNodePools.js";
import { karpenterMinor, karpenterTooOld, newestKubernetesFor } from "../platforms/karpenterVersions.js";

const SYSTEM_POOL_EXAMPLE = "`system: {gpu: cpu, minNodes: 2, maxNodes: 2, maxReplicas: 0}`";
const EXTERNAL_HINT = "cluster.nodeAutoscaler: external if an autoscaler of your own (Cluster Autoscaler, your own Karpenter) sizes the node groups";

export function checkKarpenter(cluster: EksClusterConfig, pools: ResolvedPool[], report: Report): void {
  // Someone else sizes the node groups: minNodes..maxNodes is theirs to use.
  if (cluster.nodeAutoscaler === "external") return;
  const k = cluster.karpenter;
  const at = (...path: (string | number)[]): IssuePath => ["cluster", "karpenter", ...path];

  // Here a node group stays at minNodes for good: only Karpenter's NodePools add nodes.
  for (const pool of pools) {
    if (!pool.enabled || pool.maxNodes <= pool.minNodes || (k.install && isKarpenterPool(pool))) continue;
    const path = ["pools", pool.name, "maxNodes"];
    const never = `maxNodes ${pool.maxNodes} is never reached`;
    if (!k.install) {
      report(
        path,
        `with cluster.karpenter.install false nothing adds nodes to pool "${pool.name}" beyond minNodes (${pool.minNodes}), so ${never}`,
        `set minNodes = maxNodes (${pool.maxNodes}), install Karpenter (cluster.karpenter.install: true), or set ${EXTERNAL_HINT}`,
      );
    } else {
      report(
        path,
        `pool "${pool.name}" runs no workers and has no GPUs, so it is a node group Karpenter does not add to, and nothing resizes it: it stays at minNodes (${pool.minNodes}) and ${never}`,
        pool.minNodes === 0
          ? `set minNodes = maxNodes (at least 1), or enabled: false if the pool is not needed; Karpenter adds nodes only to pools with workers or GPUs. Or set ${EXTERNAL_HINT}`
          : `set maxNodes = minNodes (${pool.minNodes}); Karpenter adds nodes only to pools with workers or GPUs. Or set ${EXTERNAL_HINT}`,
      );
    }
  }
  if (!k.install) return;

  const minor = karpenterMinor(k.version);
  if (minor !== CONTROLLER_POLICY_KARPENTER_MINOR) {
    report(
      at("version"),
      `Karpenter ${k.version} is not supported: the controller policy sie-fleet creates is Karpenter ${CONTROLLER_POLICY_KARPENTER_MINOR}'s, and another minor may need AWS permissions it lacks`,
      `use a ${CONTROLLER_POLICY_KARPENTER_MINOR}.x release such as ${DEFAULT_KARPENTER_VERSION}, or set ${EXTERNAL_HINT}`,
    );
  } else {
    const tooOld = cluster.version ? karpenterTooOld(k.version, cluster.version) : undefined;
    if (tooOld) {
      const newest = newestKubernetesFor(k.version);
      report(
        ["cluster", "version"],
        `Karpenter ${CONTROLLER_POLICY_KARPENTER_MINOR} does not support Kubernetes ${cluster.version} (that needs Karpenter ${tooOld} or later), and the controller policy sie-fleet creates is Karpenter ${CONTROLLER_POLICY_KARPENTER_MINOR}'s`,
        `keep cluster.version at ${newest ?? "an older version"}${newest ? " or older" : ""}, or set ${EXTERNAL_HINT}`,
      );
    }
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
