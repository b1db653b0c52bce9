// Crash matrix: SIGKILL `sie-fleet upgrade` at each journal phase, then run the next
// command and check the stack came back whole: verified on the old or the new version, KEDA
// annotations and worker counts as before, the Helm release deployed, no lock, the config file one of the two
// snapshots, no pending operation, every journal finished. The kill point is seen from the
// outside (the run's fsynced journal and the CLI's process tree), as an operator's `kill -9` would
// land. One deployed stack (the real Helm release on the lane's embedded cluster) is shared: every
// scenario ends verified on a known version, and the next one upgrades from there.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { FULL_MATRIX, jsonLines, runCli, SCENARIO_TIMEOUT_MS, secondsSince, useStackFixture, type CliResult } from "./harness.js";
import {
  clusterView,
  expectFinishedForEveryone,
  expectRecovered,
  has,
  helmReleaseStatus,
  killAt,
  loseLocalJournal,
  pulumiChild,
  readEntries,
  sharedEntries,
  startShared,
  steps,
  type KillPoint,
} from "./crashKit.js";

const fixture = useStackFixture();

interface Scenario {
  name: string;
  /** Tag suffix of the upgrade that gets killed (a fault makes the run revert). */
  fault?: string;
  point: KillPoint;
  /** What runs after the kill: `recover`, or a fresh `upgrade` to the same tag. */
  next: "recover" | "upgrade";
  /** Expected exit code and final version ("old" | "new") of the next command. */
  expect: { code: number; on: "old" | "new"; action?: string; says?: RegExp };
  full?: boolean;
}

const intentSeen =
  (action: string, phase?: string): KillPoint["reached"] =>
  (es) =>
    has(es, "intent", action, phase);
const doneSeen =
  (action: string, phase?: string): KillPoint["reached"] =>
  (es) =>
    has(es, "done", action, phase);

const SCENARIOS: Scenario[] = [
  {
    name: "after lock (journal started)",
    point: { reached: (es, _pid, fx) => startShared(es, fx) },
    next: "recover",
    expect: { code: 0, on: "old", action: "none" },
  },
  { name: "after snapshot", point: { reached: doneSeen("config.snapshot") }, next: "upgrade", expect: { code: 0, on: "new" } },
  { name: "after freeze", point: { reached: doneSeen("keda.freeze") }, next: "recover", expect: { code: 0, on: "old", action: "reverted" } },
  {
    name: "mid-preview (pulumi preview running, left orphaned)",
    point: { reached: (es, pid) => has(es, "done", "config.set") && pulumiChild(pid, "preview") !== undefined, settleMs: 300 },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
  },
  {
    name: "mid-apply (pulumi up running, left orphaned)",
    point: { reached: (es, pid) => has(es, "intent", "pulumi.up", "apply") && pulumiChild(pid, "up") !== undefined, settleMs: 1500 },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
  },
  {
    name: "mid-apply, whole process group killed (pulumi dies too)",
    point: { reached: (es, pid) => has(es, "intent", "pulumi.up", "apply") && pulumiChild(pid, "up") !== undefined, settleMs: 1500, mode: "group" },
    next: "upgrade",
    expect: { code: 0, on: "new" },
  },
  {
    // Helm's own record of the release says pending-upgrade: a provider (Helm client) that dies
    // now leaves it so, the new version applied but recorded nowhere in the Pulumi state, and Helm
    // refuses every later upgrade of the release.
    name: "mid-Helm-upgrade, every process killed, provider too (release left pending-upgrade)",
    point: {
      reached: async (es, pid, fx) =>
        has(es, "intent", "pulumi.up", "apply") && pulumiChild(pid, "up") !== undefined && (await helmReleaseStatus(fx)) === "pending-upgrade",
      mode: "tree",
    },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted", says: /Helm release \S+ was at revision \d+ \(pending-upgrade\)[^"]*rolled it back to revision \d+/ },
  },
  {
    name: "mid-wave (second wave released)",
    point: {
      reached: (es) =>
        es.some((e) => e.kind === "done" && e.action === "wave.release" && es.filter((x) => x.action === "wave.release" && x.kind === "done").length >= 2),
    },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
  },
  {
    name: "mid-revert (revert's pulumi up running, left orphaned)",
    fault: "-crashloop",
    point: { reached: (es, pid) => has(es, "intent", "pulumi.up", "revert") && pulumiChild(pid, "up") !== undefined, settleMs: 1000 },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
  },
  // The local stack's cpu pool runs 0 workers: its wave probes it with one, which the revert must
  // take back to 0 (expectRecovered compares every StatefulSet's count with before the run).
  {
    name: "mid-probe (the pool at zero scaled to one worker)",
    point: { reached: doneSeen("probe.scale", "wave") },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
  },
  // Killed once the final verification passed, while the holds are lifted and before KEDA is
  // thawed (a kill at the thaw's own intent lands after the run ended: the thaw is a few API calls).
  {
    name: "before thaw (verified, holds being restored)",
    point: { reached: intentSeen("holds.restore", "thaw") },
    next: "recover",
    expect: { code: 0, on: "new", action: "finished" },
  },
  // The wider matrix (SIE_FLEET_RELIABILITY=full).
  { name: "after holds", point: { reached: doneSeen("holds.apply") }, next: "upgrade", expect: { code: 0, on: "new" }, full: true },
  {
    name: "mid-revert, before thaw",
    fault: "-crashloop",
    point: { reached: intentSeen("keda.thaw") },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
    full: true,
  },
  {
    name: "mid-final-verification",
    point: { reached: (es) => es.some((e) => e.kind === "evidence" && e.action === "wave.gates" && e.message === "config") },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
    full: true,
  },
  {
    name: "after revert config restore",
    fault: "-noready",
    point: { reached: doneSeen("config.restore", "revert") },
    next: "recover",
    expect: { code: 0, on: "old", action: "reverted" },
    full: true,
  },
];

let current = "v0.3.1";
let patch = 1;

function outcomeOf(r: CliResult): Record<string, unknown> | undefined {
  return jsonLines(r.stdout).findLast((e) => e["kind"] === "outcome" || e["outcome"] !== undefined);
}

describe("crash matrix: SIGKILL at each journal phase, then the next command", () => {
  it.each(SCENARIOS.filter((s) => FULL_MATRIX || !s.full))(
    "$name",
    async (s) => {
      const fx = fixture();
      const t0 = Date.now();
      const from = current;
      const base = `v0.3.${++patch}`;
      const to = `${base}${s.fault ?? ""}`;
      const before = await clusterView(fx);
      const killed = await killAt(fx, ["upgrade", "--stack", fx.stack, "--to", to, "--yes", "--json"], s.point);
      // The machine that ran the upgrade is gone with its journal: what comes next can only find
      // the run in the cluster. Each entry is shared before the side effect it announces, so the
      // shared copy holds every acknowledged entry but perhaps the last (killed between the two writes).
      const acknowledged = loseLocalJournal(killed);
      const shared = await sharedEntries(fx, killed.runId);
      expect(shared.length).toBeGreaterThanOrEqual(acknowledged.length - 1);
      expect(steps(shared)).toEqual(steps(acknowledged).slice(0, shared.length));

      let next: CliResult;
      if (s.next === "recover") {
        // status is read-only: it names the unfinished run, found in the shared copy alone, and changes nothing.
        const st = await runCli(fx, ["status", "--stack", fx.stack, "--json"]);
        expect(st.stdout).toContain(killed.runId);
        const run = (jsonLines(st.stdout).find((e) => e["kind"] === "result")?.["result"] as { run?: { runId?: string; journal?: string } } | undefined)?.run;
        expect(run, st.stdout.slice(-3000)).toMatchObject({ runId: killed.runId, journal: "shared" });
        next = await runCli(fx, ["recover", "--stack", fx.stack, "--yes", "--json"]);
      } else {
        next = await runCli(fx, ["upgrade", "--stack", fx.stack, "--to", to, "--yes", "--json"]);
      }
      const detail = `${s.next} exit ${next.code}\nstdout:\n${next.stdout.slice(-5000)}\nstderr:\n${next.stderr.slice(-3000)}`;
      expect(next.code, detail).toBe(s.expect.code);
      expect(next.stdout, detail).toContain(`run ${killed.runId} did not finish`);
      expect(next.stdout, detail).toContain("journal read from");
      const finished = await sharedEntries(fx, killed.runId);
      expect(finished.at(-1)?.outcome, detail).toBe("recovered");
      // Recovering brings the run's journal back to this machine, the shared copy's entries and what recover added.
      expect(fs.existsSync(killed.journal), detail).toBe(true);
      expect(steps(readEntries(killed.journal))).toEqual(steps(finished));
      await expectFinishedForEveryone(fx, killed.runId);
      if (s.expect.says) expect(next.stdout, detail).toMatch(s.expect.says);
      if (s.expect.action)
        expect(JSON.stringify(outcomeOf(next) ?? {}), detail).toContain(
          s.expect.action === "none" ? "changed nothing" : s.expect.action === "finished" ? "finished" : "reverted",
        );

      const on = await expectRecovered(fx, before, from, to, killed);
      expect(on).toBe(s.expect.on === "old" ? from : to);
      current = on;
      process.stderr.write(`crash matrix: ${s.name}: ${s.next} exit ${next.code}, stack verified on ${on} (${secondsSince(t0)} s)\n`);
    },
    // A killed upgrade, a recovery that may wait for an orphaned `pulumi up`, and a verify.
    3 * SCENARIO_TIMEOUT_MS,
  );
});
