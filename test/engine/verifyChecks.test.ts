// Every non-metric check of the verification suite against a live release of the real chart:
// passes on a healthy wave and a healthy release, and fails with the right evidence on the fault
// it is meant to catch (kwok plays the pod faults, the endpoint server the request faults). No
// engine: workloads are moved to a tag through the API server, as the release update would.
import * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackContext, type StackContext } from "../../automation/actions/context.js";
import { stackTarget } from "../../automation/actions/target.js";
import type { GateResult, WaveSpec } from "../../core/types.js";
import { runVerification, type RunVerificationOptions } from "../../automation/verify/index.js";
import { useStackFixture, waitFor, type StackFixture } from "../support/stackFixture.js";
import { byName, FAST_GATES } from "../support/verifyGates.js";
import { setWorkloadTag } from "../support/workloadTags.js";

const fixture = useStackFixture();
const canary: WaveSpec = { name: "canary", kind: "pool", pools: ["l4"] };
const SCALED_OBJECTS = { group: "keda.sh", version: "v1alpha1", plural: "scaledobjects" } as const;

describe("verification checks on a live release", () => {
  let fx: StackFixture;
  let sc: StackContext;
  let verify: (o: Omit<RunVerificationOptions, "kube" | "names">) => Promise<GateResult[]>;
  const worker = (tag: string) => `ghcr.io/superlinked/sie-server:${tag}-cuda12-default`;
  const l4 = () => `${fx.fullname}-worker-l4`;

  beforeAll(async () => {
    fx = fixture();
    sc = await loadStackContext(stackTarget(fx.stack, fx.ctx));
    verify = (o) => runVerification({ kube: sc.kube, names: sc.names, gatewayUrl: sc.gatewayUrl!, configUrl: sc.configUrl!, gates: FAST_GATES, ...o });
  });

  /**
   * What the KEDA operator writes on a ScaledObject's status; the operator does not run in the
   * lane's cluster, so the test sets the conditions the `keda` check reads.
   */
  const kedaStatus = async (name: string, fallback: { status: "True" | "False"; reason: string; message: string }) => {
    const conditions = [
      { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "ScaledObject is defined correctly and is ready for scaling" },
      { type: "Active", status: "False", reason: "ScalerNotActive", message: "Scaling is not performed because triggers are not active" },
      { type: "Fallback", ...fallback },
    ];
    await fx.custom.patchNamespacedCustomObjectStatus(
      { ...SCALED_OBJECTS, namespace: fx.namespace, name, body: { status: { conditions } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  };
  const kedaHealthy = async () => {
    for (const so of Object.values(sc.names.statefulSets))
      await kedaStatus(`${so}-scaler`, { status: "False", reason: "NoFallbackFound", message: "No fallbacks are active on this scaled object" });
  };

  it("a healthy canary wave passes every check; only the wave's pool is judged; without Prometheus the metric checks say so", async () => {
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.2", { wait: true });
    const results = await verify({ phase: "wave", wave: canary, expectTag: "v0.3.2" });
    expect(results.filter((g) => g.status === "fail")).toEqual([]);
    expect(results.map((g) => g.name)).toEqual(
      expect.arrayContaining([
        `rollout:StatefulSet/${l4()}`,
        `images:StatefulSet/${l4()}`,
        "gateway-readyz",
        "gateway-health",
        "gateway-models",
        "encode-smoke",
      ]),
    );
    // a100 still runs v0.3.1 on purpose.
    expect(results.some((g) => g.name.includes("a100"))).toBe(false);
    expect(byName(results, "encode-smoke").evidence).toMatchObject({ expectedVersion: "0.3.2", pools: { l4: { versions: ["0.3.2"] } } });
    expect(byName(results, `images:StatefulSet/${l4()}`).evidence).toMatchObject({ podCount: 1, images: [worker("v0.3.2")] });
    expect(byName(results, "prometheus")).toMatchObject({ status: "warn", message: expect.stringMatching(/no Prometheus URL configured/) });
    expect(byName(results, "metric-gates")).toMatchObject({ status: "warn", message: expect.stringMatching(/metric gates not run/) });
  });

  it("the final verification passes once every component runs the new version", async () => {
    await setWorkloadTag(fx, { pool: "a100" }, "v0.3.2", { wait: true });
    await setWorkloadTag(fx, { component: "gateway" }, "v0.3.2", { wait: true });
    await setWorkloadTag(fx, { component: "config" }, "v0.3.2", { wait: true });
    await kedaHealthy();
    const results = await verify({ phase: "final", expectTag: "v0.3.2" });
    expect(results.filter((g) => g.status === "fail")).toEqual([]);
    expect(byName(results, "gateway-health").evidence).toMatchObject({
      healthStatus: "healthy",
      workerCount: 2,
      desiredWorkers: 2,
      expectedGpuTypes: ["a100-40gb", "l4"],
      liveGpuTypes: ["a100-40gb", "l4"],
    });
    expect(byName(results, "config-healthz")).toMatchObject({ status: "pass", evidence: { url: `${sc.configUrl}/healthz`, status: 200 } });
    expect(byName(results, "keda")).toMatchObject({
      status: "pass",
      evidence: { scaledObjects: expect.arrayContaining([expect.objectContaining({ name: `${l4()}-scaler`, ready: "True", fallback: "False" })]) },
    });
    expect(byName(results, `images:Deployment/${fx.fullname}-gateway`).status).toBe("pass");
  });

  it("-5xx canary: the pinned encode smoke test fails with the 500s as evidence, at the first attempt", async () => {
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.3-5xx", { wait: true });
    const results = await verify({ phase: "wave", wave: canary, expectTag: "v0.3.3-5xx", checks: ["rollout", "images", "encode-smoke"] });
    expect(byName(results, `rollout:StatefulSet/${l4()}`).status).toBe("pass");
    const smoke = byName(results, "encode-smoke");
    expect(smoke.status).toBe("fail");
    expect(smoke.message).toMatch(/pool l4\): 10\/10 requests failed \(500\)/);
    expect(smoke.evidence).toMatchObject({ pools: { l4: { statuses: Array(10).fill(500) } } });
    // Definite failures are not retried into a pass.
    expect(smoke.evidence.attempts).toBe(1);
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.2", { wait: true });
  });

  it("-pullerr: the rollout check fails fast with the pod's image-pull reason", async () => {
    const image = await setWorkloadTag(fx, { pool: "a100" }, "v0.3.3-pullerr", { wait: false });
    const results = await verify({
      phase: "wave",
      wave: { name: "a100", kind: "pool", pools: ["a100"] },
      expectTag: "v0.3.3-pullerr",
      gates: { ...FAST_GATES, retries: 20, backoffSeconds: 0.5 },
      checks: ["rollout"],
    });
    const r = byName(results, `rollout:StatefulSet/${fx.fullname}-worker-a100`);
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(r.evidence.pods?.[0]).toMatchObject({ pod: `${fx.fullname}-worker-a100-0`, image });
    await setWorkloadTag(fx, { pool: "a100" }, "v0.3.2", { wait: true });
  });

  it("-noready: rollout and gateway-health fail once the grace period is over, naming the pod", async () => {
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.3-noready", { wait: false });
    // Verification starts once the bad pod exists (the engine calls it after the rollout wait).
    await waitFor("the noready pod", async () =>
      (
        await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "sie.superlinked.com/pool=l4,app.kubernetes.io/component=worker" })
      ).items.some((p) => p.spec?.containers[0]?.image?.includes("noready") && p.status?.phase === "Running")
        ? true
        : undefined,
    );
    const results = await verify({
      phase: "wave",
      wave: canary,
      expectTag: "v0.3.3-noready",
      gates: { ...FAST_GATES, retries: 6, backoffSeconds: 0.5 },
      notReadyAfterMs: 500,
      checks: ["rollout", "gateway-health"],
    });
    const r = byName(results, `rollout:StatefulSet/${l4()}`);
    expect(r.status).toBe("fail");
    expect(r.evidence.pods?.[0]).toMatchObject({ pod: `${l4()}-0`, reason: "NotReady" });
    const h = byName(results, "gateway-health");
    expect(h.status).toBe("fail");
    expect(h.message).toMatch(/1 of 2 desired workers registered/);
    expect(h.evidence).toMatchObject({ workerCount: 1, desiredWorkers: 2 });
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.2", { wait: true });
  });

  it("images: pods on another tag fail with pod, image and expected tag", async () => {
    const results = await verify({ phase: "wave", wave: canary, expectTag: "v0.3.9", gates: { ...FAST_GATES, retries: 1 }, checks: ["images"] });
    const r = byName(results, `images:StatefulSet/${l4()}`);
    expect(r.status).toBe("fail");
    expect(r.evidence.wrong).toEqual([{ pod: `${l4()}-0`, image: worker("v0.3.2"), expected: "v0.3.9-<platform>-default" }]);
  });

  it("X-SIE-Server-Version must be the target: a gateway wave against workers on another version fails", async () => {
    await setWorkloadTag(fx, { component: "gateway" }, "v0.3.3", { wait: true });
    const results = await verify({
      phase: "wave",
      wave: { name: "gateway", kind: "gateway" },
      expectTag: "v0.3.3",
      gates: { ...FAST_GATES, retries: 1 },
      checks: ["encode-smoke"],
    });
    const r = byName(results, "encode-smoke");
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/X-SIE-Server-Version is 0\.3\.2, expected 0\.3\.3/);
    await setWorkloadTag(fx, { component: "gateway" }, "v0.3.2", { wait: true });
  });

  it("KEDA in Fallback (its metrics unreadable) fails the keda check with the condition as evidence", async () => {
    await kedaStatus(`${l4()}-scaler`, { status: "True", reason: "FallbackExists", message: "At least one trigger is falling back on this scaled object" });
    const results = await verify({ phase: "final", expectTag: "v0.3.2", checks: ["keda"] });
    const r = byName(results, "keda");
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(new RegExp(`${l4()}-scaler in Fallback`));
    expect(r.evidence.scaledObjects).toContainEqual(expect.objectContaining({ name: `${l4()}-scaler`, fallback: "True", fallbackReason: "FallbackExists" }));
    await kedaHealthy();
  });

  it("a rollout still under way is not failed early: the checks wait it out and pass", async () => {
    await setWorkloadTag(fx, { pool: "l4" }, "v0.3.4", { wait: false });
    const results = await verify({
      phase: "wave",
      wave: canary,
      expectTag: "v0.3.4",
      gates: { ...FAST_GATES, retries: 20, backoffSeconds: 0.5 },
      notReadyAfterMs: 60_000,
      checks: ["rollout", "images", "encode-smoke"],
    });
    expect(results.filter((g) => g.status !== "pass")).toEqual([]);
    expect(byName(results, `rollout:StatefulSet/${l4()}`).evidence.attempts).toBeGreaterThan(1);
  });
});
