// The upgrade engine on the real Pulumi engine and the local platform: a good tag rolls every
// pool and component; a bad tag is caught in the canary wave and reverted to the exact previous
// config with KEDA thawed; refusals and a concurrent run change nothing; rollback uses history.
import * as fs from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { rollback } from "../../automation/actions/rollback.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { acquireLock } from "../../automation/lock.js";
import { ENGINE_TEST_TIMEOUT_MS, useEngineFixture, workloadImages, type EngineFixture } from "./harness.js";

const fixture = useEngineFixture();
let fx: EngineFixture;
beforeEach(() => {
  fx = fixture();
});

async function kube(path: string): Promise<Record<string, any>> {
  return (await (await fetch(`${fx.sim.api}${path}`)).json()) as Record<string, any>;
}

const images = () => workloadImages(fx);

async function pausedAnnotations(): Promise<Record<string, string | undefined>> {
  const list = await kube("/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects");
  return Object.fromEntries(list.items.map((so: any) => [so.metadata.name, so.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]]));
}

describe("sie-fleet upgrade on the real engine", () => {
  it(
    "a good tag upgrades every pool and component, and history shows it",
    async () => {
      const r = await upgrade({ stack: "local", to: "v0.3.2" }, fx.ctx);
      expect(r.outcome).toBe("succeeded");
      expect(r.waves.map((w) => `${w.wave.name}:${w.status}`)).toEqual(expect.arrayContaining(["canary:succeeded", "gateway:succeeded", "config:succeeded"]));
      const imgs = await images();
      expect(imgs.filter((i) => i.includes("v0.3.1"))).toEqual([]);
      expect(imgs).toContain("sie-sie-cluster-gateway=ghcr.io/superlinked/sie-gateway:v0.3.2");
      expect(Object.values(await pausedAnnotations()).every((v) => v === undefined)).toBe(true);
      const h = await history({ stack: "local" }, fx.ctx);
      expect(h[0]).toMatchObject({ kind: "update", result: "succeeded", imageTag: "v0.3.2", outcome: "succeeded" });
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "a crashlooping tag fails the canary wave and is reverted to the exact previous config, KEDA thawed",
    async () => {
      const configBefore = fs.readFileSync(fx.configFile);
      const imagesBefore = await images();
      const r = await upgrade({ stack: "local", to: "v0.3.3-crashloop" }, fx.ctx);
      expect(r.outcome).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.failedGate.name).toBe("rollout:StatefulSet/sie-sie-cluster-worker-l4");
      expect(r.failedGate.message).toMatch(/CrashLoopBackOff/);
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(fs.readFileSync(fx.configFile).equals(configBefore)).toBe(true);
      expect(await images()).toEqual(imagesBefore);
      expect(Object.values(await pausedAnnotations()).every((v) => v === undefined)).toBe(true);
      const held = await kube("/apis/apps/v1/namespaces/sie/deployments/sie-sie-cluster-gateway");
      expect(held.spec.paused ?? false).toBe(false);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "policy refusals change nothing",
    async () => {
      const before = fs.readFileSync(fx.configFile);
      const r = await upgrade({ stack: "local", to: "v0.9.0" }, fx.ctx);
      expect(r.outcome).toBe("refused");
      if (r.outcome === "refused") expect(r.refusedBy).toBe("policy");
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "a second upgrade of the same stack is refused, naming the holder",
    async () => {
      const lock = await acquireLock({ stateDir: fx.stateDir, stack: "local", runId: "other-run", command: "upgrade --to v0.3.9" });
      try {
        await expect(upgrade({ stack: "local", to: "v0.3.4" }, fx.ctx)).rejects.toThrow(/upgrade --to v0\.3\.9/);
      } finally {
        await lock.release();
      }
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "rollback --to previous restores the config recorded in stack history",
    async () => {
      const r = await rollback({ stack: "local", target: { kind: "previous" } }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      expect(r.to).toBe("v0.3.1");
      expect(await images()).toContain("sie-sie-cluster-gateway=ghcr.io/superlinked/sie-gateway:v0.3.1");
      expect(fs.readFileSync(fx.configFile, "utf8")).toMatch(/imageTag: v0\.3\.1/);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
