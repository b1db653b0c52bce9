/**
 * README's first command, as a user runs it (`sie-fleet demo`, through the CLI, in a state dir of
 * its own): its own embedded cluster with Prometheus and KEDA, the local stack installed by the real
 * Helm release, KEDA's HPA adding workers as requests queue, a good upgrade with KEDA frozen and
 * thawed around it (live ScaledObjects, a pool KEDA took to zero among them), then a crash-looping
 * one that the canary catches and reverts.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findKeda, findKubeTools } from "../../../cluster/tools.js";
import { prometheusUnavailable } from "../../../cluster/prometheus.js";
import { REPO_ROOT } from "../../../core/paths.js";
import { helmMissing } from "./sieRelease.js";

const tools = findKubeTools();
const keda = findKeda();
const skipReason = !tools.ok ? tools.reason : !keda.ok ? keda.reason : (helmMissing() ?? prometheusUnavailable());
if (skipReason) console.warn(`[demo test] skipped: ${skipReason}`);

interface Line {
  kind: string;
  message?: string;
  result?: { steps: { name: string; outcome: string; exitCode: number }[] };
}

describe.skipIf(skipReason !== undefined)(`sie-fleet demo${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-demo-"));
  let ok = false;
  afterAll(() => {
    if (ok) fs.rmSync(stateDir, { recursive: true, force: true });
    else console.warn(`[demo test] kept ${stateDir} (cluster logs in demo/.sie-fleet/cluster/logs)`);
  });

  it("autoscales a pool, upgrades under live KEDA, and reverts a crash-looping version", async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "sie-fleet.js"), "demo", "--json", "--state-dir", stateDir], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const lines = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Line);
    const messages = lines.map((l) => l.message ?? "");
    const result = lines.find((l) => l.kind === "result")?.result;
    if (code !== 0 || !result) console.warn(`[demo test] exit ${code}; stderr:\n${err.slice(-3000)}`);
    expect(code).toBe(0);
    expect(result?.steps.map((s) => [s.outcome, s.exitCode])).toEqual([
      ["ok", 0],
      ["ok", 0],
      ["ready", 0],
      ["healthy", 0],
      ["scaled", 0],
      ["succeeded", 0],
      ["reverted", 5],
    ]);
    expect(result?.steps[4]?.name).toMatch(/^autoscaling: pool l4 1 → 3 workers/);
    // Both upgrades froze every live ScaledObject at its count and thawed it afterwards.
    expect(messages.filter((m) => /^KEDA frozen: .*worker-l4-scaler=3/.test(m))).toHaveLength(2);
    expect(messages.filter((m) => /^KEDA thawed/.test(m))).toHaveLength(2);
    ok = true;
  });
});
