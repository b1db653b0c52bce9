// A pool KEDA scaled to zero (the local stack's cpu pool: minReplicas 0, its StatefulSet at 0
// replicas) is not left unverified. With `rollout.zeroReplicaPools: probe` (the default) its wave
// scales it to one worker through the KEDA freeze (paused-replicas 1), the new version runs the
// wave's gates on that worker, and the count goes back to 0; a version broken only on that pool
// (the endpoint server's scoped faults) is caught there and reverted, the pool back at 0. With
// `report` the pool stays at 0 and the run says it is unverified (exit 7). Either way the thaw
// leaves the ScaledObject's annotations exactly as they were.
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import { EXIT_CODES } from "../../core/errors.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { runCliInProcess } from "../automation/inProcessCli.js";
import { sampleWhile } from "../support/sampleWhile.js";
import { control, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();

interface Sample {
  replicas: number | undefined;
  pausedReplicas: string | undefined;
  /** Images of the pool's Ready pods. */
  ready: string[];
}

const scaler = (fx: StackFixture) => `${fx.fullname}-worker-cpu-scaler`;
const statefulSet = (fx: StackFixture) => `${fx.fullname}-worker-cpu`;

async function scalerAnnotations(fx: StackFixture): Promise<Record<string, string>> {
  const so = (await fx.custom.getNamespacedCustomObject({
    group: "keda.sh",
    version: "v1alpha1",
    namespace: fx.namespace,
    plural: "scaledobjects",
    name: scaler(fx),
  })) as { metadata: { annotations?: Record<string, string> } };
  return so.metadata.annotations ?? {};
}

async function cpuPods(fx: StackFixture) {
  return (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=cpu" })).items;
}

/** Samples the cpu pool every 200 ms while `run` is under way. */
function sampled<T>(fx: StackFixture, run: () => Promise<T>): Promise<{ result: T; samples: Sample[] }> {
  return sampleWhile(
    run,
    async () => {
      const s = await fx.apps.readNamespacedStatefulSet({ name: statefulSet(fx), namespace: fx.namespace });
      const pods = await cpuPods(fx);
      return {
        replicas: s.spec?.replicas,
        pausedReplicas: (await scalerAnnotations(fx))["autoscaling.keda.sh/paused-replicas"],
        ready: pods
          .filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          .map((p) => p.spec?.containers[0]?.image ?? "")
          .sort(),
      };
    },
    200,
  );
}

/** The pool as a test expects it after any run: 0 replicas, no pod left, annotations as before. */
async function expectBackAtZero(fx: StackFixture, annotations: Record<string, string>): Promise<void> {
  const s = await fx.apps.readNamespacedStatefulSet({ name: statefulSet(fx), namespace: fx.namespace });
  expect(s.spec?.replicas).toBe(0);
  expect((await cpuPods(fx)).map((p) => p.metadata?.name)).toEqual([]);
  expect(await scalerAnnotations(fx)).toEqual(annotations);
  expect(await holdsLeft(fx)).toEqual([]);
}

const detail = (r: UpgradeResult) => JSON.stringify("failedGate" in r ? r.failedGate : r).slice(0, 3000);

describe("a pool at zero replicas is probed or reported, never silently passed", () => {
  let fx: StackFixture;
  let annotations: Record<string, string>;
  beforeAll(async () => {
    fx = fixture();
    // Something of the owner's own beside KEDA's, which the run must leave exactly as it was.
    await fx.custom.patchNamespacedCustomObject(
      {
        group: "keda.sh",
        version: "v1alpha1",
        namespace: fx.namespace,
        plural: "scaledobjects",
        name: scaler(fx),
        body: { metadata: { annotations: { "example.com/owner": "team-search" } } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    annotations = await scalerAnnotations(fx);
    expect(annotations["autoscaling.keda.sh/paused-replicas"]).toBeUndefined();
    const s = await fx.apps.readNamespacedStatefulSet({ name: statefulSet(fx), namespace: fx.namespace });
    expect(s.spec?.replicas).toBe(0);
  });

  it(
    "a good version is probed on one worker through the KEDA freeze and the pool goes back to 0",
    async () => {
      const { result: r, samples } = await sampled(fx, () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx));
      expect(r.outcome, detail(r)).toBe("succeeded");
      expect(r.zeroReplicaPools).toEqual([{ pool: "cpu", policy: "probe", status: "verified" }]);
      // The probe: one Ready worker of the new version while KEDA was paused at 1.
      const probe = samples.find((s) => s.ready.some((i) => i.includes(":v0.3.2-cpu-")));
      expect(probe, `no sample with the probe worker Ready; ${samples.length} samples`).toMatchObject({ replicas: 1, pausedReplicas: "1" });
      expect(samples.every((s) => (s.replicas ?? 0) <= 1)).toBe(true);
      // Its wave judged it: the rollout of the cpu StatefulSet and the encodes pinned to the pool.
      const wave = r.waves.find((w) => w.wave.pools?.includes("cpu"));
      expect(wave?.gates.map((g) => `${g.name}:${g.status}`)).toEqual(
        expect.arrayContaining([`rollout:StatefulSet/${statefulSet(fx)}:pass`, "encode-smoke:pass"]),
      );
      await expectBackAtZero(fx, annotations);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it.each([
    ["crashloop", "v0.3.3", /CrashLoopBackOff/],
    ["noready", "v0.3.4", /NotReady|pods ready; gave up after/],
  ])(
    "a version that is %s on the pool at zero only is caught by the probe and reverted; the pool is back at 0",
    async (fault, to, reason) => {
      const config = fs.readFileSync(fx.configFile);
      const images = await workloadImages(fx);
      const scope = { namespace: fx.namespace, component: "worker", pool: "cpu", version: to };
      expect((await control(fx, "faults", { scopes: [{ ...scope, fault }] })).status).toBe(200);
      let r: UpgradeResult;
      try {
        r = await upgrade({ stack: fx.stack, to }, fx.ctx);
      } finally {
        await control(fx, "faults", { scopes: [{ ...scope, fault: null }] });
      }
      expect(r.outcome, detail(r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.pools).toEqual(["cpu"]);
      expect(r.failedGate.name).toBe(`rollout:StatefulSet/${statefulSet(fx)}`);
      expect(r.failedGate.message).toMatch(reason);
      expect(r.zeroReplicaPools).toEqual([{ pool: "cpu", policy: "probe", status: "failed" }]);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await workloadImages(fx)).toEqual(images);
      await expectBackAtZero(fx, annotations);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "with zeroReplicaPools: report the pool stays at 0 and the run ends succeeded with unverified pools (exit 7)",
    async () => {
      fx.writeConfig((c) => {
        c["sie-fleet:release"].imageTag = "v0.3.2";
        c["sie-fleet:rollout"].zeroReplicaPools = "report";
      });
      const { result: cli, samples } = await sampled(fx, () =>
        runCliInProcess(["upgrade", "--stack", fx.stack, "--to", "v0.3.5", "--yes", "--json"], { cwd: fx.dir, env: { ...fx.ctx.env, CI: "1" } }),
      );
      const lines = cli.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>);
      const result = lines.find((l) => l.kind === "result")?.result as UpgradeResult | undefined;
      expect(cli.code, cli.stderr.slice(-2000)).toBe(EXIT_CODES.unverified);
      expect(result?.outcome).toBe("succeeded-unverified");
      expect(result).toMatchObject({ unverifiedPools: ["cpu"], zeroReplicaPools: [{ pool: "cpu", policy: "report", status: "unverified" }] });
      expect(lines.find((l) => l.kind === "outcome")?.message).toMatch(/succeeded with unverified pools: cpu/);
      expect(samples.filter((s) => s.replicas !== 0 || s.ready.length > 0)).toEqual([]);
      await expectBackAtZero(fx, annotations);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
