// Capacity is never lost: a pool that KEDA (or a person) scaled above minReplicas keeps that many
// workers at every sample through an upgrade, a revert, a rollback and a plain `pulumi up`, and no
// worker pod is deleted except by the rollout replacing it. The real chart renders
// `replicas: <minReplicas>` and Helm 3's three-way merge would patch the live count back to it on
// every upgrade; infra/release/helm/keepWorkerReplicas.mjs keeps the field out of what Helm applies.
import * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { rollback } from "../../automation/actions/rollback.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { upStack } from "../../automation/engine/operations.js";
import { sampleWhile } from "../support/sampleWhile.js";
import { SCENARIO_TIMEOUT_MS, useStackFixture, waitFor, type StackFixture } from "../support/stackFixture.js";

const SCALED = 3;
const fixture = useStackFixture();

interface Sample {
  replicas: number | undefined;
  /** Worker pods of the pool that exist and are not terminating: name → revision. */
  pods: Map<string, string>;
  updateRevision: string;
}

/** Samples the l4 pool every 150 ms while `run` is under way. */
function sampled<T>(fx: StackFixture, run: () => Promise<T>): Promise<{ result: T; samples: Sample[] }> {
  const sts = `${fx.fullname}-worker-l4`;
  return sampleWhile(
    run,
    async () => {
      // Pods first: the StatefulSet read after them is at least as new, so a pod missing from the
      // list was deleted while (or before) the revision read here was the one being rolled to.
      const pods = (
        await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=l4" })
      ).items;
      const s = await fx.apps.readNamespacedStatefulSet({ name: sts, namespace: fx.namespace });
      return {
        replicas: s.spec?.replicas,
        pods: new Map(
          pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => [p.metadata!.name!, p.metadata?.labels?.["controller-revision-hash"] ?? ""]),
        ),
        updateRevision: s.status?.updateRevision ?? "",
      };
    },
    150,
  );
}

/**
 * The replica count held at SCALED in every sample, and a pod went away only while the rollout
 * was replacing it: at most one missing at a time, and only ever one on a revision other than the
 * one the StatefulSet was rolling to.
 */
function expectCapacityKept(samples: Sample[]): void {
  expect(samples.length).toBeGreaterThan(10);
  expect(samples.filter((s) => s.replicas !== SCALED).map((s) => s.replicas)).toEqual([]);
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const cur = samples[i]!;
    expect(cur.pods.size, `sample ${i}: ${[...cur.pods.keys()].join(",")}`).toBeGreaterThanOrEqual(SCALED - 1);
    for (const [name, rev] of prev.pods) {
      if (!cur.pods.has(name)) expect(rev, `${name} deleted at sample ${i} while on the revision being rolled to`).not.toBe(cur.updateRevision);
    }
  }
}

async function scaleL4(fx: StackFixture, replicas: number): Promise<void> {
  // What KEDA's HPA does: write the scale subresource.
  await fx.apps.patchNamespacedStatefulSetScale(
    { name: `${fx.fullname}-worker-l4`, namespace: fx.namespace, body: { spec: { replicas } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  await waitFor(`l4 at ${replicas} Ready workers`, async () => {
    const s = await fx.apps.readNamespacedStatefulSet({ name: `${fx.fullname}-worker-l4`, namespace: fx.namespace });
    return s.status?.readyReplicas === replicas ? true : undefined;
  });
}

describe("worker capacity through upgrades", () => {
  let fx: StackFixture;
  beforeAll(async () => {
    fx = fixture();
    await scaleL4(fx, SCALED);
  }, SCENARIO_TIMEOUT_MS);

  it(
    "a good upgrade keeps the scaled pool at its count; only the rollout replaces pods",
    async () => {
      const { result, samples } = await sampled(fx, () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx));
      expect(result.outcome).toBe("succeeded");
      expectCapacityKept(samples);
      expect(samples.at(-1)!.pods.size).toBe(SCALED);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a reverted upgrade keeps it too, during the failed wave and the revert",
    async () => {
      const { result, samples } = await sampled(fx, () => upgrade({ stack: fx.stack, to: "v0.3.3-crashloop" }, fx.ctx));
      expect(result.outcome).toBe("reverted");
      expectCapacityKept(samples);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a rollback keeps it",
    async () => {
      const { result, samples } = await sampled(fx, () => rollback({ stack: fx.stack, target: { kind: "previous" } }, fx.ctx));
      expect(result.outcome).toBe("succeeded");
      expectCapacityKept(samples);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a plain pulumi up of a config change keeps it",
    async () => {
      fx.writeConfig((c) => {
        c["sie-fleet:release"].imageTag = "v0.3.1";
        c["sie-fleet:release"].values = { ...c["sie-fleet:release"].values, gateway: { replicas: 2 } };
      });
      const { samples } = await sampled(fx, async () => upStack(await fx.open()));
      expect(samples.filter((s) => s.replicas !== SCALED)).toEqual([]);
      const s = await fx.apps.readNamespacedStatefulSet({ name: `${fx.fullname}-worker-l4`, namespace: fx.namespace });
      expect(s.spec?.replicas).toBe(SCALED);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
