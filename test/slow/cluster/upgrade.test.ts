/**
 * The upgrade engine against real controllers: a `kubernetes`-platform stack deployed with
 * `cluster.deployWith: objects` on the test control plane, upgraded through
 * automation/actions/upgrade.ts. The real StatefulSet controller must honour the partitions that
 * hold the later waves and the real Deployment controller the pauses; kwok turns the fault tags
 * into the pod states the engine watches; the SIE endpoint server answers the gateway checks from
 * the Ready pods. One cluster and one deployed stack for the whole file; scenarios run in order.
 */
import * as fs from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { recover } from "../../../automation/actions/recover.js";
import { rollback } from "../../../automation/actions/rollback.js";
import { upgrade } from "../../../automation/actions/upgrade.js";
import { verify } from "../../../automation/actions/verify.js";
import { FULLNAME, NS, SCENARIO_TIMEOUT_MS, gatewayGet, pausedAnnotations, useClusterStack, workloadImages, type ClusterStack } from "./stack.js";
import { findKubeTools } from "../../../cluster/tools.js";
import { upgradeKilledMidWave } from "../../engine/harness.js";

const tools = findKubeTools();
if (!tools.ok) console.warn(`[cluster tests] skipped: ${tools.reason}`);

const L4 = `${FULLNAME}-worker-l4`;
const A100 = `${FULLNAME}-worker-a100`;
const GATEWAY = `${FULLNAME}-gateway`;

interface Sample {
  l4Pods: string[];
  a100Pods: string[];
  a100Template: string;
  a100Partition: number | undefined;
  a100Replicas: number;
  gatewayPaused: boolean;
  gatewayPods: string[];
  frozen: boolean;
}

/** Samples the release every 250 ms while `run` is under way. */
async function observe<T>(fx: ClusterStack, run: () => Promise<T>): Promise<{ result: T; samples: Sample[] }> {
  const samples: Sample[] = [];
  let done = false;
  const podImages = async (selector: string) =>
    (await fx.core.listNamespacedPod({ namespace: NS, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.containers[0]?.image ?? "");
  const loop = (async () => {
    while (!done) {
      try {
        const a100 = await fx.apps.readNamespacedStatefulSet({ name: A100, namespace: NS });
        const gw = await fx.apps.readNamespacedDeployment({ name: GATEWAY, namespace: NS });
        samples.push({
          l4Pods: await podImages("app.kubernetes.io/component=worker,sie.superlinked.com/pool=l4"),
          a100Pods: await podImages("app.kubernetes.io/component=worker,sie.superlinked.com/pool=a100"),
          a100Template: a100.spec?.template.spec?.containers[0]?.image ?? "",
          a100Partition: a100.spec?.updateStrategy?.rollingUpdate?.partition,
          a100Replicas: a100.spec?.replicas ?? 0,
          gatewayPaused: gw.spec?.paused === true,
          gatewayPods: await podImages("app.kubernetes.io/component=gateway"),
          frozen: Object.values(await pausedAnnotations(fx)).some((v) => v !== undefined),
        });
      } catch {
        // a read racing a delete; the next sample will do
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    return { result: await run(), samples };
  } finally {
    done = true;
    await loop;
  }
}


describe.skipIf(!tools.ok)(`upgrades on the real control plane${tools.ok ? "" : ` (skipped: ${tools.reason})`}`, () => {
  const fixture = useClusterStack();
  let fx: ClusterStack;
  beforeEach(() => {
    fx = fixture();
  });
  const upgradeTo = (to: string) => upgrade({ stack: "kube", to }, fx.ctx);
  const noHoldsLeft = async () => {
    for (const name of [L4, A100]) {
      const sts = await fx.apps.readNamespacedStatefulSet({ name, namespace: NS });
      expect(sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0, `${name} partition`).toBe(0);
    }
    for (const d of (await fx.apps.listNamespacedDeployment({ namespace: NS })).items) expect(d.spec?.paused ?? false, `${d.metadata?.name} paused`).toBe(false);
    expect(Object.values(await pausedAnnotations(fx)).every((v) => v === undefined)).toBe(true);
  };

  it(
    "a good tag rolls the canary first while partitions and pauses hold the rest, then everything; the gateway reports it",
    async () => {
      const { result: r, samples } = await observe(fx, () => upgradeTo("v0.3.2"));
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      expect(r.waves[0]?.wave.name).toBe("canary");
      // The canary ran the new worker while the real StatefulSet controller kept the a100 pods on
      // the old one although their template was already new (partition), and the real Deployment
      // controller kept the paused gateway's pods old.
      const held = samples.find((s) => s.l4Pods.some((i) => i.includes(":v0.3.2-")) && s.a100Template.includes(":v0.3.2-"));
      expect(held, `no sample with the canary upgraded; ${samples.length} samples`).toBeDefined();
      expect(held!.a100Partition).toBeGreaterThanOrEqual(held!.a100Replicas);
      expect(held!.a100Pods.every((i) => i.includes(":v0.3.1-"))).toBe(true);
      expect(held!.gatewayPaused).toBe(true);
      expect(held!.gatewayPods.every((i) => i.endsWith(":v0.3.1"))).toBe(true);
      expect(samples.some((s) => s.frozen)).toBe(true);

      expect((await workloadImages(fx)).filter((i) => i.includes("v0.3.1"))).toEqual([]);
      await noHoldsLeft();
      const gw = await gatewayGet(fx, "/readyz");
      expect(gw.status).toBe(200);
      expect(gw.version).toBe("0.3.2");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it.each([
    ["v0.3.3-crashloop", /CrashLoopBackOff/],
    ["v0.3.3-pullerr", /ImagePullBackOff|ErrImagePull/],
    ["v0.3.3-noready", /0 of 1 pods ready; gave up after/],
    ["v0.3.3-5xx", /encode/i],
  ])(
    "%s fails the canary wave and is reverted: config byte-identical, images back, holds and KEDA released",
    async (tag, reason) => {
      const config = fs.readFileSync(fx.configFile);
      const before = await workloadImages(fx);
      const versionBefore = (await gatewayGet(fx, "/readyz")).version;
      const r = await upgradeTo(tag);
      expect(r.outcome, JSON.stringify(r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(r.failedGate.message).toMatch(reason);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await workloadImages(fx)).toEqual(before);
      await noHoldsLeft();
      expect((await gatewayGet(fx, "/readyz")).version).toBe(versionBefore);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "rollback --to previous returns to the last good version from history",
    async () => {
      const r = await rollback({ stack: "kube", target: { kind: "previous" } }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      expect(r.to).toBe("v0.3.1");
      expect(await workloadImages(fx)).toContain(`${GATEWAY}=ghcr.io/superlinked/sie-gateway:v0.3.1`);
      expect((await workloadImages(fx)).filter((i) => i.includes("v0.3.2"))).toEqual([]);
      expect(fs.readFileSync(fx.configFile, "utf8")).toMatch(/imageTag: v0\.3\.1/);
      await noHoldsLeft();
      expect((await gatewayGet(fx, "/readyz")).version).toBe("0.3.1");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a CLI run SIGKILLed mid-wave is recovered to a verified version, KEDA thawed, holds lifted",
    async () => {
      const before = fs.readFileSync(fx.configFile);
      const seen = await upgradeKilledMidWave(fx, "kube", "v0.3.2");
      expect(seen).toContain("phase:hold:succeeded");
      // The kill left the stack half way: config changed, KEDA frozen.
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(false);
      expect(Object.values(await pausedAnnotations(fx)).some((v) => v !== undefined)).toBe(true);

      const report = await recover({ stack: "kube" }, fx.ctx);
      expect(["reverted", "finished"], report.message).toContain(report.action);
      await noHoldsLeft();
      const v = await verify({ stack: "kube" }, fx.ctx);
      expect(v.gates.filter((g) => g.status === "fail")).toEqual([]);
      const version = (await gatewayGet(fx, "/readyz")).version;
      expect(["0.3.1", "0.3.2"]).toContain(version);
      const tag = `v${version}`;
      expect((await workloadImages(fx)).every((i) => i.includes(`:${tag}`))).toBe(true);
      if (report.action === "reverted") expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      expect((await recover({ stack: "kube" }, fx.ctx)).action).toBe("none");
    },
    SCENARIO_TIMEOUT_MS,
  );
});
