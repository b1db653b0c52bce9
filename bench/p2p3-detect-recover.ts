// P2 time to detect and P3 time to recover, measured on the same bad upgrades: each fault tag is
// applied with `sie-fleet upgrade` on the local stack (its short gate windows, a real Prometheus
// scraping the endpoint server, its load generator for traffic). From the run's journal:
//   detect  = `pulumi.up` intent of phase apply → `revert.decide` decision
//   recover = `revert.decide` → `revert.verify` evidence (previous version verified)
// P2's baseline is not measured: it is Helm's documented `--atomic` behaviour with the default
// `--timeout 5m0s` (wait for readiness until the timeout; Ready pods that fail requests are never
// noticed). P3's baseline is measured on the same stack: one raw `pulumi up` + one `sie-fleet verify`.
import { benchStack, expectExit, type BenchStack } from "./fixture.js";
import { find, jsonLines, latestJournal, ms, type Event } from "./runData.js";
import { median, secs, table, writeResult } from "./report.js";
import type { BenchOptions, Benchmark } from "./types.js";

const FAULTS = ["crashloop", "pullerr", "noready", "errors10"] as const;
const GOOD = ["v0.3.2", "v0.3.1"] as const;
/** helm upgrade --atomic waits this long by default (helm.sh/docs/helm/helm_upgrade: --timeout 5m0s). */
const HELM_DEFAULT_TIMEOUT_MS = 300_000;

interface BadRun {
  fault: string;
  tag: string;
  exitCode: number | null;
  failedGate: string;
  detectMs: number;
  /** Release applied (`pulumi.up` done) → decision: what the gates add once the new pods exist. */
  detectAfterApplyMs: number;
  recoverMs: number;
  /** The revert's own `pulumi up`, part of recoverMs. */
  revertUpMs: number;
  decideToOutcomeMs: number;
  wallMs: number;
}

interface ManualRecovery {
  to: string;
  pulumiUpMs: number;
  verifyMs: number;
  totalMs: number;
  verifyExit: number | null;
}

async function badUpgrade(s: BenchStack, fault: string): Promise<BadRun> {
  const tag = `v0.3.2-${fault}`;
  await s.startLoad();
  const p = await s.cli(["upgrade", "--stack", "local", "--to", tag, "--yes", "--json"]);
  expectExit(p, [5], `sie-fleet upgrade --to ${tag} (expected a revert)`);
  const j = latestJournal(s.stateDir, "local");
  const apply = find(j, { kind: "intent", phase: "apply", action: "pulumi.up" }, "apply start");
  const applied = find(j, { kind: "done", phase: "apply", action: "pulumi.up" }, "apply done");
  const revertUp = find(j, { kind: "intent", phase: "revert", action: "pulumi.up" }, "revert pulumi up");
  const revertUpDone = find(j, { kind: "done", phase: "revert", action: "pulumi.up" }, "revert pulumi up done");
  const decide = find(j, { kind: "decision", action: "revert.decide" }, "revert decision");
  const verified = find(j, { kind: "evidence", action: "revert.verify" }, "revert verification");
  const outcome = find(j, { kind: "outcome" }, "outcome");
  const gate = (decide.data as { failedGate?: { name?: string } } | undefined)?.failedGate?.name ?? "?";
  return {
    fault,
    tag,
    exitCode: p.code,
    failedGate: gate,
    detectMs: ms(decide.time) - ms(apply.time),
    detectAfterApplyMs: ms(decide.time) - ms(applied.time),
    recoverMs: ms(verified.time) - ms(decide.time),
    revertUpMs: ms(revertUpDone.time) - ms(revertUp.time),
    decideToOutcomeMs: ms(outcome.time) - ms(decide.time),
    wallMs: p.ms,
  };
}

async function manualRecovery(s: BenchStack, to: string): Promise<ManualRecovery> {
  const t0 = performance.now();
  expectExit(await s.pulumi(["config", "set", "--path", "sie-fleet:release.imageTag", to]), [0], "pulumi config set");
  expectExit(await s.pulumi(["up", "--yes", "--skip-preview"]), [0], "pulumi up");
  const pulumiUpMs = performance.now() - t0;
  const v = await s.cli(["verify", "--stack", "local", "--json"]);
  const totalMs = performance.now() - t0;
  const result = jsonLines<Event>(v.stdout).find((e) => e.kind === "result" || e.kind === "error");
  if (!result) expectExit(v, [0], "sie-fleet verify");
  return { to, pulumiUpMs, verifyMs: v.ms, totalMs, verifyExit: v.code };
}

// P2 and P3 read the same runs: when both are selected the bad upgrades happen once.
let shared: Promise<{ bad: BadRun[]; manual: ManualRecovery[]; perFault: number }> | undefined;

function measure({ runs, quick, log }: BenchOptions) {
  shared ??= (async () => {
    const perFault = runs ?? (quick ? 1 : 2);
    const faults = quick ? (["crashloop", "errors10"] as const) : FAULTS;
    const s = await benchStack({ prometheus: true, log });
    const bad: BadRun[] = [];
    const manual: ManualRecovery[] = [];
    try {
      await s.waitAllReady();
      for (let i = 0; i < perFault; i++) {
        for (const f of faults) {
          const r = await badUpgrade(s, f);
          bad.push(r);
          // A slow machine may not get through all faults: keep what was measured.
          writeResult("p2p3-partial", { partial: true, bad });
          log(`P2/P3 ${r.tag}: detected by ${r.failedGate} after ${secs(r.detectMs)}, previous version verified ${secs(r.recoverMs)} later`);
          await s.waitAllReady();
        }
      }
      for (let i = 0; i < Math.max(perFault, quick ? 1 : 3); i++) {
        const r = await manualRecovery(s, GOOD[i % 2]!);
        manual.push(r);
        log(`P3 baseline → ${r.to}: pulumi up ${secs(r.pulumiUpMs)} + verify ${secs(r.verifyMs)} (exit ${r.verifyExit})`);
        await s.waitAllReady();
      }
    } finally {
      await s.stop();
    }
    return { bad, manual, perFault };
  })();
  return shared;
}

const byFault = (bad: BadRun[]) => [...new Set(bad.map((b) => b.fault))].map((f) => ({ fault: f, runs: bad.filter((b) => b.fault === f) }));

export const p2: Benchmark = {
  name: "p2-detect",
  title: "P2 time to detect a bad rollout (apply start → revert decision)",
  async run(opts) {
    const { bad, perFault } = await measure(opts);
    const rows = byFault(bad).map(({ fault, runs }) => {
      const helm = fault === "errors10" ? "not detected (pods are Ready)" : `${secs(HELM_DEFAULT_TIMEOUT_MS)} (documented default)`;
      return [
        `-${fault}`,
        secs(median(runs.map((r) => r.detectMs))),
        secs(median(runs.map((r) => r.detectAfterApplyMs))),
        runs.map((r) => (r.detectMs / 1000).toFixed(1)).join(", "),
        [...new Set(runs.map((r) => r.failedGate))].join(", "),
        helm,
      ];
    });
    return {
      tables: [
        table(
          `${this.title}, ${perFault} run(s) per fault`,
          ["fault", "sie-fleet median", "of which after apply done", "runs (s)", "detected by", "helm --atomic (default --timeout 5m0s)"],
          rows,
        ),
      ],
      json: {
        method: "journal: pulumi.up intent (phase apply) → revert.decide decision",
        baseline: { kind: "documented, not measured", helmAtomicTimeoutMs: HELM_DEFAULT_TIMEOUT_MS, errors10: "not detected" },
        summary: Object.fromEntries(
          byFault(bad).map(({ fault, runs }) => [
            fault,
            { medianDetectMs: median(runs.map((r) => r.detectMs)), gates: [...new Set(runs.map((r) => r.failedGate))] },
          ]),
        ),
        runs: bad,
      },
    };
  },
};

export const p3: Benchmark = {
  name: "p3-recover",
  title: "P3 time to recover (revert decision → previous version verified)",
  async run(opts) {
    const { bad, manual } = await measure(opts);
    const rows = byFault(bad).map(({ fault, runs }) => [
      `sie-fleet automatic revert (-${fault})`,
      `${secs(median(runs.map((r) => r.recoverMs)))} (revert's pulumi up ${secs(median(runs.map((r) => r.revertUpMs)))})`,
      runs.map((r) => (r.recoverMs / 1000).toFixed(1)).join(", "),
    ]);
    const all = bad.map((r) => r.recoverMs);
    rows.push(["sie-fleet automatic revert (all faults)", secs(median(all)), `${all.length} runs`]);
    rows.push([
      "baseline: pulumi config set + up",
      secs(median(manual.map((m) => m.pulumiUpMs))),
      manual.map((m) => (m.pulumiUpMs / 1000).toFixed(1)).join(", "),
    ]);
    rows.push(["baseline: + sie-fleet verify", secs(median(manual.map((m) => m.totalMs))), manual.map((m) => (m.totalMs / 1000).toFixed(1)).join(", ")]);
    return {
      tables: [table(this.title, ["method", "median", "runs (s)"], rows)],
      json: {
        method:
          "journal: revert.decide decision → revert.verify evidence; baseline: raw pulumi config set + up, then sie-fleet verify, on the same stack (healthy, changing the tag)",
        summary: {
          medianRecoverMs: median(all),
          medianRecoverByFaultMs: Object.fromEntries(byFault(bad).map(({ fault, runs }) => [fault, median(runs.map((r) => r.recoverMs))])),
          baselineMedianMs: { pulumiUp: median(manual.map((m) => m.pulumiUpMs)), pulumiUpPlusVerify: median(manual.map((m) => m.totalMs)) },
        },
        runs: bad,
        baseline: manual,
      },
    };
  },
};
