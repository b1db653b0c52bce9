// The capacity preflight of `upgrade` and `rollback`: before anything changes, every deployed pool
// must be able to place its workers again (a rollout recreates each one) plus the probe worker a
// pool at zero gets, on nodes that take new pods. A shortage refuses the run (exit 4) unless
// `--force`; either way the findings are gates of the preflight and a decision in the journal.
import type { V1StatefulSet } from "@kubernetes/client-node";
import { workerPlacement } from "../../../infra/hardware/workerPlacement.js";
import { assessPoolCapacity, type PoolDemand } from "../../plan/capacity/poolCapacity.js";
import { parseQuantity } from "../../../infra/hardware/quantity.js";
import { ADMISSION_TOLERATIONS } from "../../plan/capacity/tolerations.js";
import { shortageText, type CapacityReport } from "../../plan/capacity/report.js";
import { EXIT_CODES, KubeApiError, SieFleetError } from "../../../core/errors.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { isNotFound, statefulSetPods } from "../../kube/index.js";
import { NodeReader, nodeView, workerView } from "../../plan/capacity/nodes.js";
import { nodePoolGrowth, type NodePoolLike } from "../../plan/capacity/nodePoolGrowth.js";
import type { Evidence, GateResult } from "../../../core/types.js";
import type { StackContext } from "../context.js";

/** The pools cannot hold their workers through the rollout (exit 4); nothing was changed. */
export class CapacityRefusedError extends SieFleetError {
  constructor(
    readonly report: CapacityReport,
    stack: string,
  ) {
    super("capacity", EXIT_CODES.refused, `not enough room for the rollout: ${shortageText(report)}; nothing was changed`, {
      hint: `make room (repair or uncordon nodes, free their GPUs, raise the node pool's maxNodes), then run again; or pass --force to roll anyway. sie-fleet preview --stack ${stack} --to <tag> shows the same check`,
      details: { pools: report.pools.filter((p) => !p.ok).map((p) => ({ pool: p.pool, problems: p.problems })) },
    });
  }
}

/** Karpenter's NodePools (cluster-scoped). */
const NODE_POOLS = { group: "karpenter.sh", version: "v1", plural: "nodepools" } as const;

/**
 * The cluster's NodePools, or none when Karpenter is not installed (404) or they cannot be read
 * (403): then no growth is counted, so a shortage is reported rather than assumed away.
 */
async function clusterNodePools(sc: StackContext): Promise<NodePoolLike[]> {
  try {
    return (await sc.kube.api.listClusterCustomObjects(NODE_POOLS)) as NodePoolLike[];
  } catch (err) {
    if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) return [];
    throw err;
  }
}

/** GKE and EKS stacks create their pools' node groups, and so know how far each may grow. */
function ownsNodeGroups(sc: StackContext): boolean {
  return sc.config.platform === "gke" || sc.config.platform === "eks";
}

/**
 * How a pool may grow: GKE and EKS pools up to the maxNodes of the node groups the stack creates;
 * on other platforms through the cluster's own node autoscaler, the NodePools that make nodes
 * its workers fit (never past the stack's maxNodes). Otherwise the nodes are what they are.
 */
function growth(sc: StackContext, demand: PoolDemand, matching: number, nodePools: readonly NodePoolLike[]): PoolDemand["growth"] {
  const p = sc.config.pools[demand.pool];
  if (!p) return undefined;
  const maxNew = Math.max(0, p.maxNodes - matching);
  if (ownsNodeGroups(sc)) return { nodes: maxNew, workersPerNode: p.workersPerNode };
  const g = nodePoolGrowth(nodePools, {
    selector: demand.selector,
    tolerations: demand.tolerations,
    gpusPerNode: p.hardware.gpusPerNode,
    workersPerNode: p.workersPerNode,
    maxNew,
  });
  return g ? { nodes: g.nodes, workersPerNode: g.workersPerNode } : undefined;
}

/** Reads the cluster and judges each deployed pool; changes nothing. */
async function assessCapacity(sc: StackContext, opts: { force: boolean }): Promise<CapacityReport> {
  const api = sc.kube.api;
  const ns = sc.names.namespace;
  const reader = new NodeReader(api);
  const policy = sc.config.rollout.zeroReplicaPools;
  try {
    const nodePools = ownsNodeGroups(sc) ? [] : await clusterNodePools(sc);
    const judged = await Promise.all(
      Object.entries(sc.names.statefulSets).flatMap(([pool, name]) => {
        const resolved = sc.config.pools[pool];
        if (!resolved || !name) return [];
        return [
          (async () => {
            let sts: V1StatefulSet;
            try {
              sts = await api.getStatefulSet(ns, name);
            } catch (err) {
              // A missing StatefulSet is the health check's to report (the deployment is not whole).
              if (isNotFound(err)) return undefined;
              throw err;
            }
            const replicas = sts.spec?.replicas ?? 1;
            const workers = await statefulSetPods(api, ns, sts);
            const placement = workerPlacement(resolved);
            const nodes = await reader.nodes(placement.nodeSelector);
            const own = new Set(workers.map((w) => w.metadata?.uid ?? ""));
            const perWorker: Record<string, number> = { pods: 1 };
            for (const [r, q] of Object.entries(placement.requests)) perWorker[r] = parseQuantity(q);
            const demand: PoolDemand = {
              pool,
              selector: placement.nodeSelector,
              tolerations: [...placement.tolerations, ...ADMISSION_TOLERATIONS],
              perWorker,
              replicas,
              surge: replicas === 0 && policy === "probe" ? 1 : 0,
            };
            const g = growth(sc, demand, nodes.length, nodePools);
            return assessPoolCapacity(
              g ? { ...demand, growth: g } : demand,
              nodes.map((n) => nodeView(n.node, n.pods, own)),
              workers.map(workerView),
            );
          })(),
        ];
      }),
    );
    const pools = judged.filter((p) => p !== undefined);
    const short = pools.some((p) => !p.ok);
    return { checked: true, pools, short, forced: short && opts.force };
  } catch (err) {
    // Listing nodes takes cluster-wide read access that a namespaced deployer may not have: say the
    // check did not run rather than stop every upgrade.
    if (err instanceof KubeApiError && err.status === 403) {
      return { checked: false, pools: [], short: false, forced: false, error: err.message };
    }
    throw err;
  }
}

/** The check as preflight gates: pass, fail, or warn when forced past or not run. */
function capacityGates(report: CapacityReport): GateResult[] {
  if (!report.checked) {
    return [
      { name: "capacity", status: "warn", message: `capacity not checked: ${report.error ?? "the nodes could not be read"}`, evidence: {}, durationMs: 0 },
    ];
  }
  return report.pools.map((p) => ({
    name: `capacity:${p.pool}`,
    status: p.ok ? "pass" : report.forced ? "warn" : "fail",
    message: p.ok || !report.forced ? p.message : `${p.message} (overridden by --force)`,
    evidence: p as unknown as Evidence,
    durationMs: 0,
  }));
}

/** Judges, reports and journals capacity; returns the refusal when a pool is short and the run is not forced. */
export async function preflightCapacity(
  sc: StackContext,
  opts: { force: boolean },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<{ report: CapacityReport; refusal?: CapacityRefusedError }> {
  const report = await assessCapacity(sc, opts);
  for (const g of capacityGates(report)) emit.gate("preflight", g);
  const message = !report.checked
    ? `capacity not checked: ${report.error}`
    : report.forced
      ? `capacity shortage overridden by --force: ${shortageText(report)}`
      : report.short
        ? `refused: ${shortageText(report)}`
        : "every pool has room for its workers";
  await journal.decision("preflight", JOURNAL_ACTIONS.preflightCapacity, { message, data: report });
  if (report.forced) emit.log("warn", "preflight", message);
  return report.short && !report.forced ? { report, refusal: new CapacityRefusedError(report, sc.open.name) } : { report };
}
