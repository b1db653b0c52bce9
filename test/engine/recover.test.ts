// A run SIGKILLed in the middle of a wave leaves holds, a frozen KEDA and a half-applied stack;
// `recover` must bring it back to a verified state from the journal alone.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { recover } from "../../automation/actions/recover.js";
import { verify } from "../../automation/actions/verify.js";
import { REPO_ROOT } from "../../automation/engine/paths.js";
import { ENGINE_TEST_TIMEOUT_MS, useEngineFixture, type EngineFixture } from "./harness.js";

const fixture = useEngineFixture();
let fx: EngineFixture;
beforeEach(() => {
  fx = fixture();
});

/** Runs the CLI and SIGKILLs it as soon as it reports the first released wave. */
function upgradeKilledMidWave(to: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, "bin", "sie-fleet.js"), "upgrade", "--stack", "local", "--to", to, "--yes", "--json", "--state-dir", fx.stateDir],
      { cwd: fx.dir, env: { ...fx.ctx.env, SIE_FLEET_STATE_DIR: fx.stateDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const seen: string[] = [];
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const e = JSON.parse(line) as { kind: string; status?: string; phase?: string };
          seen.push(`${e.kind}:${e.phase}:${e.status ?? ""}`);
          if (e.kind === "wave" && e.status === "released") child.kill("SIGKILL");
        } catch {
          /* not JSON */
        }
      }
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve(seen) : reject(new Error(`upgrade was not killed mid-wave (exit ${_code}); saw ${seen.join(" ")}`))));
  });
}

describe("recover after SIGKILL", () => {
  it(
    "a run killed mid-wave is reverted to its snapshot, KEDA thawed, holds lifted, verified",
    async () => {
      const before = fs.readFileSync(fx.configFile);
      const seen = await upgradeKilledMidWave("v0.3.2");
      expect(seen).toContain("phase:hold:succeeded");
      // The kill left the stack half way: config changed, workloads held, KEDA frozen.
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(false);
      const so = (await (await fetch(`${fx.sim.api}/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler`)).json()) as any;
      expect(so.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]).toBeDefined();

      const report = await recover({ stack: "local" }, fx.ctx);
      expect(report.action).toBe("reverted");
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      const after = (await (await fetch(`${fx.sim.api}/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler`)).json()) as any;
      expect(after.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]).toBeUndefined();
      const v = await verify({ stack: "local" }, fx.ctx);
      expect(v.gates.filter((g) => g.status === "fail")).toEqual([]);

      // Nothing is left to recover, and the stack can be upgraded again.
      expect((await recover({ stack: "local" }, fx.ctx)).action).toBe("none");
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
