// The fleet run's decisions without a cluster: each stack's upgrade is scripted, time is fake.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fleetUpgrade, soakWaitMs, type FleetDeps } from "../../automation/actions/fleet.js";
import type { PromotionReport } from "../../automation/actions/upgrade/promotionCheck.js";
import { InterruptedError, StackLockedError } from "../../core/errors.js";
import type { ActionContext, ProgressEvent } from "../../core/types.js";
import type { UpgradeResult } from "../../automation/actions/results.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function context(): { ctx: ActionContext; events: ProgressEvent[] } {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-fleet-"));
  dirs.push(stateDir);
  const events: ProgressEvent[] = [];
  return { ctx: { stateDir, reporter: { emit: (e) => events.push(e) }, secrets: [], yes: true, nonInteractive: true, verbose: false }, events };
}

const base = { startedAt: "", finishedAt: "", durationMs: 1, waves: [], gates: [], to: "v0.3.2", from: "v0.3.1" };
let runs = 0;
const ok = (stack: string): UpgradeResult => ({ ...base, runId: `run-${++runs}`, stack, outcome: "succeeded" });
const refused = (stack: string, rule: string, promotion?: PromotionReport): UpgradeResult => ({
  ...base,
  runId: `run-${++runs}`,
  stack,
  outcome: "refused",
  refusedBy: "policy",
  rule,
  reason: rule,
  ...(promotion ? { promotion } : {}),
});
const reverted = (stack: string): UpgradeResult => ({
  ...base,
  runId: `run-${++runs}`,
  stack,
  outcome: "reverted",
  revertedTo: "v0.3.1",
  failedGate: { name: "promotion-digests", status: "fail", message: "digest moved", evidence: {}, durationMs: 1 },
});
const NOW = Date.parse("2026-03-01T10:00:00.000Z");
const soaking = (stack: string, verifiedSecondsAgo: number): UpgradeResult =>
  refused(stack, "policy-promotion-soaking", {
    from: "staging",
    minSoakMinutes: 1,
    allowed: false,
    rule: "promotion-soaking",
    reason: "soaking",
    evidence: { runId: "s1", command: "upgrade", verifiedAt: new Date(NOW - verifiedSecondsAgo * 1000).toISOString(), soakedMinutes: 0, digests: [] },
    overridden: false,
    digestChecks: [],
  });

/** Deps whose upgrade answers from `script` per stack, in call order. */
function scripted(script: Record<string, (() => UpgradeResult)[]>): { deps: Partial<FleetDeps>; calls: string[]; slept: number[] } {
  const calls: string[] = [];
  const slept: number[] = [];
  const deps: Partial<FleetDeps> = {
    now: () => NOW,
    sleep: async (ms) => {
      slept.push(ms);
    },
    upgrade: async (o) => {
      calls.push(o.stack);
      const next = script[o.stack]?.shift();
      if (!next) throw new Error(`no scripted result left for ${o.stack}`);
      return next();
    },
  };
  return { deps, calls, slept };
}

describe("fleet upgrade", () => {
  it("upgrades the stacks in order, waiting out a promotion's soak, and reports one event per stack", async () => {
    const { ctx, events } = context();
    const s = scripted({ staging: [() => ok("staging")], prod: [() => soaking("prod", 20), () => ok("prod")] });
    const r = await fleetUpgrade({ stacks: ["staging", "prod"], to: "v0.3.2" }, ctx, s.deps);
    expect(s.calls).toEqual(["staging", "prod", "prod"]);
    expect(s.slept).toEqual([41_000]);
    expect(r).toMatchObject({ outcome: "succeeded", exitCode: 0, resumed: false });
    expect(r.stacks.map((x) => [x.stack, x.outcome, x.attempts, x.waitedMs])).toEqual([
      ["staging", "succeeded", 1, 0],
      ["prod", "succeeded", 2, 41_000],
    ]);
    expect(events.filter((e) => e.kind === "stack").map((e) => (e.kind === "stack" ? `${e.stack}:${e.outcome}` : ""))).toEqual([
      "staging:succeeded",
      "prod:succeeded",
    ]);
    const journal = fs
      .readFileSync(r.journalPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).kind);
    expect(journal).toEqual(["start", "stack-start", "stack-done", "stack-start", "wait", "stack-done", "end"]);
  });

  it("stops at the first revert: later stacks are not run, the exit code is the revert's", async () => {
    const { ctx } = context();
    const s = scripted({ a: [() => ok("a")], b: [() => reverted("b")], c: [() => ok("c")] });
    const r = await fleetUpgrade({ stacks: ["a", "b", "c"], to: "v0.3.2" }, ctx, s.deps);
    expect(s.calls).toEqual(["a", "b"]);
    expect(r).toMatchObject({ outcome: "stopped", stoppedAt: "b", exitCode: 5 });
    expect(r.stacks.map((x) => x.outcome)).toEqual(["succeeded", "reverted", "not-run"]);
    expect(r.stacks[1]).toMatchObject({ rule: "promotion-digests" });
  });

  it("stops at a stack that left checks out (exit 7, naming them); --skip-check reaches each stack's upgrade", async () => {
    const { ctx } = context();
    const seen: unknown[] = [];
    const s = scripted({
      a: [() => ({ ...ok("a"), outcome: "succeeded-unverified", skippedChecks: [{ name: "metric-gates", source: "flag" }] })],
      b: [() => ok("b")],
    });
    const upgrade = s.deps.upgrade!;
    s.deps.upgrade = (o, c) => {
      seen.push(o.skipChecks);
      return upgrade(o, c);
    };
    const r = await fleetUpgrade({ stacks: ["a", "b"], to: "v0.3.2", skipChecks: ["metric-gates"] }, ctx, s.deps);
    expect(seen).toEqual([["metric-gates"]]);
    expect(r).toMatchObject({ outcome: "stopped", stoppedAt: "a", exitCode: 7 });
    expect(r.stacks[0]).toMatchObject({ outcome: "succeeded-unverified", message: "upgraded v0.3.1 → v0.3.2, checks left out: metric-gates (--skip-check)" });
    expect(r.stacks[1]?.outcome).toBe("not-run");
  });

  it("a refusal other than the soak stops it (exit 4); a stack already on the tag does not", async () => {
    const { ctx } = context();
    const s = scripted({ a: [() => refused("a", "policy-same-version")], b: [() => refused("b", "policy-promotion-unverified")] });
    const r = await fleetUpgrade({ stacks: ["a", "b"], to: "v0.3.2" }, ctx, s.deps);
    expect(r.stacks.map((x) => x.outcome)).toEqual(["already", "refused"]);
    expect(r).toMatchObject({ outcome: "stopped", stoppedAt: "b", exitCode: 4 });
  });

  it("an error (a locked stack) stops it with that error's exit code", async () => {
    const { ctx } = context();
    const holder = { pid: 1, host: "h", runId: "x", command: "upgrade --to v9.9.9", startedAt: "t" };
    const s = scripted({ a: [() => Promise.reject(new StackLockedError("a", holder, "lock")) as never] });
    const r = await fleetUpgrade({ stacks: ["a", "b"], to: "v0.3.2" }, ctx, s.deps);
    expect(r).toMatchObject({ outcome: "stopped", stoppedAt: "a", exitCode: 3 });
    expect(r.stacks[0]).toMatchObject({ outcome: "error", rule: "stack-locked" });
  });

  it("a killed fleet run resumes with the stack it was on, skipping the ones it finished", async () => {
    const { ctx } = context();
    const first = scripted({
      a: [() => ok("a")],
      b: [
        () => {
          throw new InterruptedError("killed");
        },
      ],
    });
    await expect(fleetUpgrade({ stacks: ["a", "b", "c"], to: "v0.3.2" }, ctx, first.deps)).rejects.toThrow(InterruptedError);
    const again = scripted({ b: [() => ok("b")], c: [() => ok("c")] });
    const r = await fleetUpgrade({ stacks: ["a", "b", "c"], to: "v0.3.2" }, ctx, again.deps);
    expect(again.calls).toEqual(["b", "c"]);
    expect(r).toMatchObject({ outcome: "succeeded", resumed: true });
    expect(r.stacks[0]).toMatchObject({ stack: "a", outcome: "succeeded", attempts: 0 });
    // Finished: the same command now starts a new fleet run.
    const third = scripted({ a: [() => refused("a", "policy-same-version")], b: [() => refused("b", "policy-same-version")], c: [() => ok("c")] });
    expect(await fleetUpgrade({ stacks: ["a", "b", "c"], to: "v0.3.2" }, ctx, third.deps)).toMatchObject({ resumed: false });
  });

  it("refuses a stack listed twice or an invalid name before anything runs", async () => {
    const { ctx } = context();
    const s = scripted({});
    await expect(fleetUpgrade({ stacks: ["a", "a"], to: "v0.3.2" }, ctx, s.deps)).rejects.toThrow(/lists a twice/);
    await expect(fleetUpgrade({ stacks: ["a", "../b"], to: "v0.3.2" }, ctx, s.deps)).rejects.toThrow(/not a valid stack name/);
    expect(s.calls).toEqual([]);
  });
});

describe("soakWaitMs", () => {
  it("is the rest of the soak plus a second, only for a soak refusal", () => {
    expect(soakWaitMs(soaking("p", 30), NOW)).toBe(31_000);
    expect(soakWaitMs(soaking("p", 90), NOW)).toBe(0);
    expect(soakWaitMs(refused("p", "policy-promotion-unverified"), NOW)).toBeUndefined();
    expect(soakWaitMs(ok("p"), NOW)).toBeUndefined();
  });
});
