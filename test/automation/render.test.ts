// What people read for the capacity check and for a run that left pools at zero unverified.
import { describe, expect, it } from "vitest";
import type { CapacityReport } from "../../automation/plan/capacity/report.js";
import { capacityLines, renderUpgradeResult } from "../../automation/cli/render.js";
import { EXIT_CODES } from "../../core/errors.js";
import { exitCodeForOutcome } from "../../core/types.js";
import type { UpgradeResult } from "../../automation/actions/results.js";

const pool = (name: string, ok: boolean, message: string) => ({
  pool: name,
  ok,
  replicas: 1,
  surge: 0,
  fit: ok ? 1 : 0,
  growth: 0,
  nodes: { matching: 1, usable: ok ? 1 : 0, notReady: [], cordoned: [], tainted: [] },
  pendingWorkers: [],
  workersOnNotReadyNodes: [],
  problems: ok ? [] : [message],
  message: `pool ${name}: ${message}`,
});

describe("capacityLines", () => {
  const report: CapacityReport = {
    checked: true,
    short: true,
    forced: false,
    pools: [pool("a100", false, "1 worker needs 1 nvidia.com/gpu, nodes labelled x=y have 0 allocatable"), pool("l4", true, "1 worker fit: room for 4")],
  };

  it("lists every pool under the verdict", () => {
    expect(capacityLines(report)).toEqual([
      "capacity would refuse:",
      "  ✖ pool a100: 1 worker needs 1 nvidia.com/gpu, nodes labelled x=y have 0 allocatable",
      "  ✔ pool l4: 1 worker fit: room for 4",
    ]);
    expect(capacityLines({ ...report, forced: true })[0]).toBe("capacity: short, overridden by --force");
    expect(capacityLines({ checked: false, short: false, forced: false, pools: [], error: "list nodes failed (HTTP 403)" })).toEqual([
      "capacity: not checked (list nodes failed (HTTP 403))",
    ]);
  });
});

describe("a run with pools left at zero", () => {
  const r: UpgradeResult = {
    outcome: "succeeded-unverified",
    unverifiedPools: ["cpu"],
    runId: "r",
    stack: "local",
    from: "v0.3.1",
    to: "v0.3.2",
    startedAt: "",
    finishedAt: "",
    durationMs: 61_000,
    waves: [],
    gates: [],
  };

  it("is never plain success: it names the pools and exits 7", () => {
    const lines = renderUpgradeResult(r);
    expect(lines[0]).toMatch(/^⚠ local: upgrade v0\.3\.1 → v0\.3\.2 applied .*not verified/);
    expect(lines[1]).toMatch(/^ {2}unverified pools: cpu: they run 0 workers/);
    expect(lines.join("\n")).not.toMatch(/checks left out/);
    expect(exitCodeForOutcome("succeeded-unverified")).toBe(EXIT_CODES.unverified);
    expect(EXIT_CODES.unverified).toBe(7);
  });

  it("names the checks a run left out, with where each skip came from", () => {
    const { unverifiedPools: _pools, ...rest } = r;
    const lines = renderUpgradeResult(
      {
        ...rest,
        outcome: "succeeded-unverified",
        skippedChecks: [
          { name: "metric-gates", source: "flag" },
          { name: "prometheus", source: "flag" },
          { name: "keda", source: "config" },
        ],
      },
      "rollback",
    );
    expect(lines[0]).toMatch(/^⚠ local: rollback v0\.3\.1 → v0\.3\.2 applied/);
    expect(lines[1]).toBe("  checks left out: keda (rollout.gates.skip); metric-gates, prometheus (--skip-check)");
    expect(lines.join("\n")).not.toMatch(/unverified pools/);
  });
});
