// Fault matrix: every fault of cluster/faults.ts × the wave it appears in → the outcome and exit
// code documented in docs/fault-matrix.md (this test reads that table). A fault is put in one
// wave with the endpoint server's scoped faults (only that pool/component of this file's release
// at the new version; pod faults through the admission webhook, so the new pods are born broken),
// the real CLI upgrades the real Helm release while the server's load generator sends traffic and
// a real Prometheus scrapes it, and the stack must end verified: back on the old version after a
// revert, or on the new one once the scope is lifted when no gate could see the fault.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { control, withPrometheusChecks } from "../support/stackFixture.js";
import { prometheusUnavailable, startPrometheus, type PrometheusServer } from "../../cluster/prometheus.js";
import { FULL_MATRIX, jsonLines, runCli, SCENARIO_TIMEOUT_MS, secondsSince, useStackFixture, type StackFixture } from "./harness.js";
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
    .filter((l) => l.startsWith("|") && !l.startsWith("| fault") && !/^\|[\s:|-]+$/.test(l))
    .map((l) =>
      l
        .replace(/\\\|/g, "/")
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    )
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

/** The gates the table names as catching a fault ("rollout", "encode-smoke or metric:error-ratio", "config-healthz (…)"). */
function caughtBy(row: Row): string[] {
  return row.caughtBy.split(" or ").map((c) =>
    c
      .replace(/\s*\(.*$/, "")
      .replace(/ when .*$/, "")
      .trim(),
  );
}

/** The scope that puts a fault into one wave of the local stack (canary l4, then a100, cpu), in this release only. */
function scopeFor(namespace: string, wave: string, version: string, fault: string | null): Record<string, unknown> {
  const pool = { canary: "l4", "pools-1": "a100", "pools-2": "cpu" }[wave];
  if (pool) return { namespace, component: "worker", pool, version, fault };
  return { namespace, component: wave, version, fault };
}

/**
 * SIE_FLEET_FAULT_ROWS="slow@gateway,config" runs only the rows matching one of its entries
 * (`fault@wave`, a wave or a fault), whatever their `run` column says: for working on a few cells.
 */
function selected(r: Row, filter = process.env["SIE_FLEET_FAULT_ROWS"]): boolean {
  if (!filter) return FULL_MATRIX || r.run === "ci";
  return filter.split(",").some((f) => [`${r.fault}@${r.wave}`, r.wave, r.fault].includes(f.trim()));
}

const MATRIX = readMatrix();
// Faults only Prometheus sees in a pool wave; the gateway and config waves time requests themselves.
const METRIC_FAULTS = new Set(["slow", "errors10"]);
const POOL_WAVES = new Set(["canary", "pools-1", "pools-2"]);
const noProm = prometheusUnavailable();
const rows = MATRIX.filter((r) => selected(r));
// One upgrade with its waves, gates and maybe a revert; a loaded 2-core machine needs the margin.
const ROW_TIMEOUT_MS = 2 * SCENARIO_TIMEOUT_MS;

// With Prometheus the stack runs the local stack's Prometheus checks, which the fixture leaves out.
const fixture = useStackFixture(noProm ? {} : { config: withPrometheusChecks });

describe("fault matrix: each fault in each wave → the documented outcome", () => {
  let fx: StackFixture;
  let prom: PrometheusServer | undefined;
  let current = "v0.3.1";
  let patch = 1;

  beforeAll(async () => {
    fx = fixture();
    if (!noProm) {
      // The endpoint server labels every series with its release's namespace (honor_labels keeps
      // it); the target's own namespace label gives `up{namespace}` for the prometheus checks.
      prom = await startPrometheus({
        metricsUrl: fx.cluster.metricsUrl ?? `${fx.endpoints.url}/metrics`,
        labels: { namespace: fx.namespace },
        honorLabels: true,
      });
      fx.ctx.env = { ...fx.ctx.env, SIE_FLEET_PROMETHEUS_URL: prom.url };
    } else {
      process.stderr.write(`fault matrix: rows needing metrics are skipped: ${noProm}\n`);
    }
  });

  afterAll(async () => {
    await prom?.stop();
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
      if (METRIC_FAULTS.has(row.fault) && POOL_WAVES.has(row.wave) && noProm) return;
      const t0 = Date.now();
      const from = current;
      const to = `v0.3.${++patch}`;
      const config = fs.readFileSync(fx.configFile);
      // Steady traffic: the metric gates compare each pool with its own pre-upgrade baseline.
      const load = await control(fx, "load", { rps: 40, durationMs: 8 * 60_000 });
      expect(load.status, JSON.stringify(load.body)).toBe(200);
      const scoped = await control(fx, "faults", { scopes: [scopeFor(fx.namespace, row.wave, to, row.fault)] });
      expect(scoped.status, JSON.stringify(scoped.body)).toBe(200);
      let r;
      try {
        r = await runCli(fx, ["upgrade", "--stack", fx.stack, "--to", to, "--yes", "--json"]);
      } finally {
        // Only this release's scope: other files share the cluster and its endpoint server.
        await control(fx, "faults", { scopes: [scopeFor(fx.namespace, row.wave, to, null)] });
        await control(fx, "load", { action: "stop" });
      }
      const events = jsonLines(r.stdout);
      const outcome = events.findLast((e) => e["kind"] === "outcome");
      const failedWave = events.find((e) => e["kind"] === "wave" && e["status"] === "failed")?.["wave"];
      const failedGates = events
        .filter((e) => e["kind"] === "gate" && (e["gate"] as { status: string }).status === "fail")
        .map((e) => (e["gate"] as { name: string }).name);
      const detail = `exit ${r.code}, outcome ${JSON.stringify(outcome)}, failed wave ${String(failedWave)}, failed gates ${failedGates.join(", ")}\nstderr:\n${r.stderr.slice(-2000)}`;
      process.stderr.write(`fault matrix: ${row.fault} in ${row.wave}: ${detail.split("\n")[0]} (${secondsSince(t0)} s)\n`);
      expect(row.exits, detail).toContain(r.code);
      expect(row.outcomes, detail).toContain(outcome?.["outcome"]);
      if (outcome?.["outcome"] === "reverted") {
        // Where it was caught: a wave, or the final verification ("verify"), and by which gate.
        expect(failedWave ?? "verify", detail).toBe(row.failedIn);
        expect(
          failedGates.some((g) => caughtBy(row).some((c) => g === c || g.startsWith(`${c}:`))),
          `caught by ${row.caughtBy}; ${detail}`,
        ).toBe(true);
        expect(fs.readFileSync(fx.configFile).equals(config), "config file is back to its snapshot").toBe(true);
        expect(await runningTags(fx)).toEqual([from]);
      } else {
        expect(await runningTags(fx)).toEqual([to]);
        current = to;
      }
      // Whatever happened, the stack verifies on one version now.
      const v = await runCli(fx, ["verify", "--stack", fx.stack, "--json"]);
      expect(v.code, v.stdout.slice(-3000)).toBe(0);
    },
    ROW_TIMEOUT_MS,
  );
});
