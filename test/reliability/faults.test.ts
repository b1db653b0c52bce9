// Fault matrix: every simulator fault × the wave it appears in → the outcome and exit
// code documented in docs/fault-matrix.md (this test reads that table). A fault is put in one
// wave with the simulator's scoped faults (only that pool/component at the new version), the
// real CLI upgrades, and the stack must end verified: back on the old version after a revert, or
// on the new one once the scope is lifted when no gate could see the fault.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upStack } from "../../automation/engine/operations.js";
import { REPO_ROOT } from "../../automation/engine/paths.js";
import { prometheusUnavailable, startPrometheus, type PrometheusServer } from "../../cluster/prometheus.js";
import { CLI_BUILD_TIMEOUT_MS, ENGINE_TEST_TIMEOUT_MS, engineFixture, ensureCli, FULL_MATRIX, jsonLines, runCli, type EngineFixture } from "./harness.js";
import { runningTags } from "./crashKit.js";

interface Row {
  fault: string;
  wave: string;
  outcomes: string[];
  exits: number[];
  failedIn: string;
  caughtBy: string;
  run: "ci" | "full";
}

/** The table between the fault-matrix markers of docs/fault-matrix.md. */
function readMatrix(): Row[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, "docs", "fault-matrix.md"), "utf8");
  const body = text.split("<!-- fault-matrix:begin -->")[1]!.split("<!-- fault-matrix:end -->")[0]!;
  return body
    .split("\n")
    .filter((l) => l.startsWith("|") && !l.startsWith("| fault") && !l.startsWith("|---"))
    .map((l) => l.replace(/\\\|/g, "/").split("|").slice(1, -1).map((c) => c.trim()))
    .map(([fault, wave, outcome, exit, failedIn, caughtBy, run]) => ({
      fault: fault!,
      wave: wave!,
      outcomes: outcome!.split("/"),
      exits: exit!.split("/").map(Number),
      failedIn: failedIn!,
      caughtBy: caughtBy!,
      run: run as Row["run"],
    }));
}

/** Which simulator scope puts a fault into a wave of the local stack (canary l4, then a100, cpu). */
function scopeFor(wave: string, version: string, fault: string): Record<string, unknown> {
  const pool = { canary: "l4", "pools-1": "a100", "pools-2": "cpu" }[wave];
  if (pool) return { component: "worker", pool, version, fault };
  return { component: wave, version, fault };
}

const MATRIX = readMatrix();
const METRIC_FAULTS = new Set(["slow", "errors10"]);
const noProm = prometheusUnavailable();
const rows = MATRIX.filter((r) => FULL_MATRIX || r.run === "ci");
// One upgrade with its waves, gates and maybe a revert; a loaded 2-core machine needs the margin.
const ROW_TIMEOUT_MS = 3 * ENGINE_TEST_TIMEOUT_MS;

describe("fault matrix: each fault in each wave → the documented outcome", () => {
  let fx: EngineFixture;
  let prom: PrometheusServer | undefined;
  let current = "v0.3.1";
  let patch = 1;

  const post = (p: string, body: unknown) => fetch(`${fx.sim.api}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  beforeAll(async () => {
    await ensureCli();
    fx = await engineFixture({ simStartTimeoutMs: 120_000 });
    if (!noProm) {
      prom = await startPrometheus({ metricsUrl: fx.sim.metrics, labels: { namespace: "sie" } });
      fx.ctx.env = { ...fx.ctx.env, SIE_FLEET_PROMETHEUS_URL: prom.url };
    } else {
      process.stderr.write(`fault matrix: rows needing metrics are skipped: ${noProm}\n`);
    }
    await upStack(await fx.open(true));
  }, CLI_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await prom?.stop();
    await fx?.cleanup();
  });

  it("the table covers every fault in every wave of the local stack", () => {
    const faults = ["crashloop", "pullerr", "noready", "5xx", "slow", "errors10"];
    const waves = ["canary", "pools-1", "pools-2", "gateway", "config"];
    expect(MATRIX.map((r) => `${r.fault}@${r.wave}`).sort()).toEqual(faults.flatMap((f) => waves.map((w) => `${f}@${w}`)).sort());
    const ci = MATRIX.filter((r) => r.run === "ci");
    expect(new Set(ci.map((r) => r.fault))).toEqual(new Set(faults));
    expect(new Set(ci.map((r) => r.wave))).toEqual(new Set(waves));
  });

  it.each(rows.map((r) => [`${r.fault} in ${r.wave}`, r] as const))(
    "%s",
    async (_name, row) => {
      if (METRIC_FAULTS.has(row.fault) && noProm) return;
      const t0 = Date.now();
      const from = current;
      const to = `v0.3.${++patch}`;
      const config = fs.readFileSync(fx.configFile);
      // Steady traffic: the metric gates compare each pool with its own pre-upgrade baseline.
      expect((await post("/sim/load", { action: "start", rps: 40, durationMs: 8 * 60_000 })).status).toBe(200);
      expect((await post("/sim/faults", { clear: true, scopes: [scopeFor(row.wave, to, row.fault)] })).status).toBe(200);
      let r;
      try {
        r = await runCli(fx, ["upgrade", "--stack", "local", "--to", to, "--yes", "--json"]);
      } finally {
        await post("/sim/faults", { clear: true });
        await post("/sim/load", { action: "stop" });
      }
      const events = jsonLines(r.stdout);
      const outcome = events.findLast((e) => e["kind"] === "outcome");
      const failedWave = events.find((e) => e["kind"] === "wave" && e["status"] === "failed")?.["wave"];
      const failedGates = events.filter((e) => e["kind"] === "gate" && (e["gate"] as { status: string }).status === "fail").map((e) => (e["gate"] as { name: string }).name);
      const detail = `exit ${r.code}, outcome ${JSON.stringify(outcome)}, failed wave ${String(failedWave)}, failed gates ${failedGates.join(", ")}\nstderr:\n${r.stderr.slice(-2000)}`;
      process.stderr.write(`fault matrix: ${row.fault} in ${row.wave}: ${detail.split("\n")[0]} (${Math.round((Date.now() - t0) / 1000)} s)\n`);
      expect(row.exits, detail).toContain(r.code);
      expect(row.outcomes, detail).toContain(outcome?.["outcome"]);
      if (outcome?.["outcome"] === "reverted") {
        // Where it was caught: a wave, or the final verification ("verify").
        expect(failedWave ?? "verify", detail).toBe(row.failedIn);
        expect(fs.readFileSync(fx.configFile).equals(config), "config file is back to its snapshot").toBe(true);
        expect(await runningTags(fx)).toEqual([from]);
      } else {
        expect(await runningTags(fx)).toEqual([to]);
        current = to;
      }
      // Whatever happened, the stack verifies on one version now.
      const v = await runCli(fx, ["verify", "--stack", "local", "--json"]);
      expect(v.code, v.stdout.slice(-3000)).toBe(0);
    },
    ROW_TIMEOUT_MS,
  );
});
