/**
 * A pool at zero workers and zero nodes, upgraded on a cluster with a node autoscaler: the
 * embedded cluster shaped like the GKE example stack (`--nodes-from stacks/Pulumi.gke-prod.yaml
 * --karpenter`: its node groups' minNodes, Karpenter adding the rest after a registration delay),
 * live KEDA, and the engine's local stack running two of that stack's pools. The preflight counts
 * the room Karpenter's NodePool can add for the pool at zero; its wave's probe worker waits for a
 * new node, runs the new version through the gates and is scaled back to zero; the node goes once
 * empty. Requests for the pool do the same through KEDA: pending demand activates it, Karpenter
 * adds the node, and both go once the requests stop. Skips, with the reason, unless KEDA and
 * Karpenter are built.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../../automation/actions/upgrade.js";
import { shapeFromStackFile } from "../../../cluster/nodesFromStack.js";
import { prometheusUnavailable } from "../../../cluster/prometheus.js";
import { findKarpenter, findKeda, findKubeTools } from "../../../cluster/tools.js";
import { REPO_ROOT } from "../../../core/paths.js";
import { nodePoolName } from "../../../infra/platforms/karpenterNodePools.js";
import { workerStatefulSetName } from "../../../infra/release/releaseValues.js";
import { kedaHpaOwners, useLiveStack } from "../../support/liveStack.js";
import { sampleWhile } from "../../support/sampleWhile.js";
import { control, holdsLeft, pausedAnnotations, readyWorkerImages, SCENARIO_TIMEOUT_MS, waitFor, type StackFixture } from "../../support/stackFixture.js";
import { helmMissing } from "./sieRelease.js";

const tools = findKubeTools();
const keda = findKeda();
const karpenter = findKarpenter();
const skipReason = !tools.ok ? tools.reason : !keda.ok ? keda.reason : !karpenter.ok ? karpenter.reason : (helmMissing() ?? prometheusUnavailable());
if (skipReason) console.warn(`[zero pool node tests] skipped: ${skipReason}`);

/** gke-prod's A100 pool: no node until a worker needs one. */
const ZERO_POOL = "a100-40gb";
const NODE_DELAY_S = 20;

describe.skipIf(skipReason !== undefined)(`a pool at zero nodes upgraded under a node autoscaler${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const live = useLiveStack("zero-pool-node", {
    cluster: skipReason
      ? {}
      : shapeFromStackFile(path.join(REPO_ROOT, "stacks", "Pulumi.gke-prod.yaml"), { registrationDelay: `${NODE_DELAY_S}s`, consolidateAfter: "10s" }),
    // Two of gke-prod's pools, by name, so the workers select its nodes: l4 with its warm node and
    // the canary; the A100 pool at zero workers (KEDA keeps it there while idle).
    config: (c) => {
      c["sie-fleet:pools"] = {
        l4: { gpu: "l4", maxNodes: 1, minReplicas: 1, maxReplicas: 1 },
        [ZERO_POOL]: { gpu: "a100-40gb", maxNodes: 1, minReplicas: 0, maxReplicas: 1 },
      };
      // The budgets of a real cluster (the chart's startup budget), not the local stack's 15 s:
      // the probe worker waits for its node.
      const { timeouts: _short, ...rollout } = c["sie-fleet:rollout"];
      c["sie-fleet:rollout"] = { ...rollout, canaryPool: "l4", waveOrder: [ZERO_POOL] };
    },
  });
  let fx: StackFixture;
  beforeAll(() => {
    fx = live();
  });

  const poolNodes = async () =>
    (await fx.core.listNode({ labelSelector: `karpenter.sh/nodepool=${nodePoolName(ZERO_POOL)}` })).items.filter((n) => !n.metadata?.deletionTimestamp).length;
  const replicas = async () =>
    (await fx.apps.readNamespacedStatefulSet({ namespace: fx.namespace, name: workerStatefulSetName(fx.fullname, ZERO_POOL) })).spec?.replicas;

  it(
    "the probe worker waits for a new node, is verified on the new version, and the pool goes back to zero workers and zero nodes",
    async () => {
      await waitFor(
        `pool ${ZERO_POOL} idle at zero workers and zero nodes, KEDA scaling every pool`,
        async () => ((await replicas()) === 0 && (await poolNodes()) === 0 && (await kedaHpaOwners(fx)).length === 2 ? true : undefined),
        { timeoutMs: 180_000, intervalMs: 1_000 },
      );

      const started = Date.now();
      const { result: r, samples } = await sampleWhile(
        () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
        async () => ({ at: Date.now() - started, nodes: await poolNodes(), ready: (await readyWorkerImages(fx, ZERO_POOL)).length }),
        1_000,
      );
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      // The preflight counted the node Karpenter can add rather than refusing the probe for lack of room.
      const capacity = fx.events.find((e) => e.kind === "gate" && e.gate.name === `capacity:${ZERO_POOL}`);
      expect(capacity && capacity.kind === "gate" ? capacity.gate.status : undefined).toBe("pass");
      // The probe worker ran on a node that did not exist before the run, no sooner than its registration delay.
      const probed = samples.find((s) => s.nodes === 1 && s.ready === 1);
      expect(probed, JSON.stringify(samples.slice(-20))).toBeDefined();
      expect(probed!.at).toBeGreaterThanOrEqual(NODE_DELAY_S * 1000);

      expect(await replicas()).toBe(0);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(Object.values(await pausedAnnotations(fx)).every((v) => v === undefined)).toBe(true);
      await waitFor("the empty node removed", async () => ((await poolNodes()) === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 1_000 });
    },
    SCENARIO_TIMEOUT_MS,
  );
  it(
    "requests for the pool at zero bring it a node and a worker through KEDA and Karpenter, and both go once the requests stop",
    async () => {
      await waitFor("the pool idle at zero workers and zero nodes", async () => ((await replicas()) === 0 && (await poolNodes()) === 0 ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 1_000,
      });
      // Requests pinned to the pool find no worker: the gateway reports pending demand, KEDA
      // activates the pool, its worker is Pending until Karpenter's node has joined.
      const started = Date.now();
      expect((await control(fx, "load", { rps: 5, durationMs: 180_000, pool: ZERO_POOL })).status).toBe(200);
      try {
        await waitFor(
          "a worker Ready on a new node",
          async () => ((await poolNodes()) === 1 && (await readyWorkerImages(fx, ZERO_POOL)).length === 1 ? true : undefined),
          {
            timeoutMs: 180_000,
            intervalMs: 1_000,
          },
        );
        expect(Date.now() - started).toBeGreaterThanOrEqual(NODE_DELAY_S * 1000);
      } finally {
        await control(fx, "load", { action: "stop" });
      }
      // The demand window and KEDA's cooldown pass: zero workers, then the empty node goes.
      await waitFor("the pool back at zero workers", async () => ((await replicas()) === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 1_000 });
      await waitFor("its node removed", async () => ((await poolNodes()) === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 1_000 });
    },
    SCENARIO_TIMEOUT_MS,
  );
});
