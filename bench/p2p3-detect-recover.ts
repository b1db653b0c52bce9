// P2 time to detect and P3 time to recover, `sie-fleet upgrade` against `helm upgrade --atomic
// --timeout 5m` of the same chart, side by side in one run on one cluster, for three versions: one
// that crash-loops (-crashloop), one whose Ready pods answer every encode with a 500 (-5xx) and a
// good one. sie-fleet upgrades the `local` stack (its short gate windows, a real Prometheus
// scraping the endpoint server, its load generator for traffic); Helm upgrades a twin release of
// the same chart with the same values in a namespace of its own (bench/helmAtomic.ts).
//
// Both are timed from the command's start, and what the release serves is read the same way for
// both, by polling its pods and workloads every 250 ms during either tool's run (bench/servedVersion.ts):
//   noticed  = sie-fleet exits 5 (reverted); helm exits non-zero (rolled back)
//   detect   = start → the decision to go back: sie-fleet's `revert.decide` journal entry, Helm's
//              --debug line "… atomic is set, rolling back …" (its exit when the line is missing)
//   back     = start → the first sample after that decision in which the release serves the old
//              version only, every replica Ready; "never" when the tool did not notice
// A bad version a tool let through gets one encode through the gateway (its answer is recorded) and
// is then taken back, untimed for sie-fleet, timed for Helm (`helm rollback --wait`, a P3 row).
// From sie-fleet's journal as well: apply start → decision (P2) and decision → previous version
// verified (P3). Helm's -crashloop waits out the whole 5-minute timeout before rolling back, so a
// round takes about 9 minutes and the default two rounds about 20 (`--quick`: one round).
// P3's manual baseline runs on the same stack afterwards: one raw `pulumi up` + one `sie-fleet verify`.
import { REPO_ROOT } from "../core/paths.js";
import { resolveChart } from "../infra/release/chartSource.js";
import { benchStack, expectExit, localStackConfig, STACK, type BenchStack } from "./fixture.js";
import { helmAtomicUpgrade, helmRollbackByHand, HELM_ATOMIC_TIMEOUT, installHelmTwin, type HelmTwin } from "./helmAtomic.js";
import { find, jsonLines, latestJournal, ms, type Entry, type Event } from "./runData.js";
import { median, secs, table, writeResult } from "./report.js";
import { encodeOnce, firstServing, watchServedVersion, type EncodeReply, type ServedVersionWatch } from "./servedVersion.js";
import type { BenchOptions, Benchmark } from "./types.js";

const ALL_VERSIONS = ["crashloop", "5xx", "good"] as const;
type Version = (typeof ALL_VERSIONS)[number];
/** SIE_FLEET_BENCH_P2P3_VERSIONS=good (comma-separated) runs only those rows, e.g. to look into one again; the record says so. */
const VERSIONS: readonly Version[] = (() => {
  const asked = process.env["SIE_FLEET_BENCH_P2P3_VERSIONS"]
    ?.split(",")
    .map((v) => v.trim())
    .filter(Boolean);
  if (!asked?.length) return ALL_VERSIONS;
  const unknown = asked.filter((v) => !(ALL_VERSIONS as readonly string[]).includes(v));
  if (unknown.length) throw new Error(`SIE_FLEET_BENCH_P2P3_VERSIONS: unknown ${unknown.join(", ")}; use ${ALL_VERSIONS.join(", ")}`);
  return asked as Version[];
})();
const TOOLS = ["sie-fleet", "helm --atomic"] as const;
type Tool = (typeof TOOLS)[number];
/** The good versions the stack moves between; the bad ones are v0.3.2 with a fault suffix (cluster/faults.ts). */
const GOOD = ["v0.3.1", "v0.3.2"] as const;
const badTag = (fault: Exclude<Version, "good">) => `v0.3.2-${fault}`;
/** After a tool that noticed exits, how long the old version gets to serve again before it counts as not back. */
const BACK_GRACE_MS = 60_000;

/** sie-fleet's own record of a revert, from the run's journal. */
interface Revert {
  failedGate: string;
  /** The failed gate's own message and evidence, so a revert nobody expected (a good version's) can be read afterwards. */
  failedGateMessage?: string;
  failedGateEvidence?: unknown;
  /** Epoch ms of the `revert.decide` decision. */
  decidedAt: number;
  /** `pulumi.up` intent (phase apply) → decision. */
  detectFromApplyMs: number;
  /** Release applied (`pulumi.up` done) → decision: what the gates add once the new pods exist. */
  detectAfterApplyMs: number;
  /** Decision → `revert.verify` evidence (previous version verified). */
  recoverMs: number;
  /** The revert's own `pulumi up`, part of recoverMs. */
  revertUpMs: number;
  decideToOutcomeMs: number;
}

interface UpgradeRun {
  version: Version;
  tool: Tool;
  from: string;
  tag: string;
  exitCode: number | null;
  noticed: boolean;
  /** Command start → the decision to go back. */
  detectMs?: number;
  /** Helm only: where detectMs comes from. */
  detectFrom?: "rollback log line" | "exit";
  /** Command start → the release serves `from` only again (after the decision). */
  backOnOldMs?: number;
  /** What the release served when the measurement ended; undefined while mixed or degraded. */
  servedAtEnd?: string;
  /** One encode through the gateway when a bad version was left serving. */
  encode?: EncodeReply | { error: string };
  outcome: string;
  wallMs: number;
  revert?: Revert;
  helm?: { error?: string; exitAfterDecisionMs?: number; rollbackByHandMs?: number };
}

interface ManualRecovery {
  to: string;
  pulumiUpMs: number;
  verifyMs: number;
  totalMs: number;
  verifyExit: number | null;
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

function revertFromJournal(j: Entry[]): Revert {
  const apply = find(j, { kind: "intent", phase: "apply", action: "pulumi.up" }, "apply start");
  const applied = find(j, { kind: "done", phase: "apply", action: "pulumi.up" }, "apply done");
  const revertUp = find(j, { kind: "intent", phase: "revert", action: "pulumi.up" }, "revert pulumi up");
  const revertUpDone = find(j, { kind: "done", phase: "revert", action: "pulumi.up" }, "revert pulumi up done");
  const decide = find(j, { kind: "decision", action: "revert.decide" }, "revert decision");
  const verified = find(j, { kind: "evidence", action: "revert.verify" }, "revert verification");
  const outcome = find(j, { kind: "outcome" }, "outcome");
  const failed = (decide.data as { failedGate?: { name?: string; message?: string; evidence?: unknown } } | undefined)?.failedGate;
  return {
    failedGate: failed?.name ?? "?",
    ...(failed?.message ? { failedGateMessage: failed.message } : {}),
    ...(failed?.evidence !== undefined ? { failedGateEvidence: failed.evidence } : {}),
    decidedAt: ms(decide.time),
    detectFromApplyMs: ms(decide.time) - ms(apply.time),
    detectAfterApplyMs: ms(decide.time) - ms(applied.time),
    recoverMs: ms(verified.time) - ms(decide.time),
    revertUpMs: ms(revertUpDone.time) - ms(revertUp.time),
    decideToOutcomeMs: ms(outcome.time) - ms(decide.time),
  };
}

/**
 * Ends a watch: after a decision, waits (up to BACK_GRACE_MS past the exit) for the old version
 * to serve again; otherwise takes one sample after the exit, so the end state is the one the tool left.
 */
async function endWatch(watch: ServedVersionWatch, from: string, exitAt: number, decidedAt: number | undefined) {
  const done = () => (decidedAt !== undefined ? firstServing(watch.samples, from, decidedAt) !== undefined : watch.samples.some((s) => s.at > exitAt));
  while (!done() && Date.now() - exitAt < (decidedAt !== undefined ? BACK_GRACE_MS : 5_000)) await sleep(100);
  const samples = await watch.stop();
  const back = decidedAt !== undefined ? firstServing(samples, from, decidedAt) : undefined;
  return { back, servedAtEnd: samples.at(-1)?.version };
}

function outcome(r: Omit<UpgradeRun, "outcome">): string {
  const serving = r.servedAtEnd ?? "a mix (or not every replica Ready)";
  if (r.version === "good") {
    if (r.exitCode === 0 && r.servedAtEnd === r.tag) return `upgraded: ${r.tag} serving`;
    const why = r.revert ? ` (reverted by ${r.revert.failedGate}: ${r.revert.failedGateMessage ?? "?"})` : "";
    return `exit ${r.exitCode}${why}; serving ${serving}`;
  }
  if (r.noticed) {
    const how = r.tool === "sie-fleet" ? `reverted (${r.revert?.failedGate ?? "?"} gate)` : `rolled back after the ${HELM_ATOMIC_TIMEOUT} timeout`;
    return r.backOnOldMs !== undefined ? `${how}: ${r.from} serving` : `${how}, but ${r.from} not serving ${BACK_GRACE_MS / 1000} s after the exit`;
  }
  const answer = r.encode && "status" in r.encode ? ` (encode → HTTP ${r.encode.status})` : "";
  return `not noticed (exit ${r.exitCode}): ${serving} left serving${answer}`;
}

async function sieFleetUpgrade(s: BenchStack, version: Version, from: string, tag: string): Promise<UpgradeRun> {
  await s.startLoad();
  const watch = watchServedVersion(s.kubeconfigPath, s.namespace);
  const startedAt = Date.now();
  const p = await s.cli(["upgrade", "--stack", STACK, "--to", tag, "--yes", "--json"]);
  const exitAt = Date.now();
  // 0: verified; 5: verification failed and the revert succeeded. Anything else is no figure.
  expectExit(p, [0, 5], `sie-fleet upgrade --to ${tag}`);
  const revert = p.code === 5 ? revertFromJournal(latestJournal(s.stateDir, STACK)) : undefined;
  const { back, servedAtEnd } = await endWatch(watch, from, exitAt, revert?.decidedAt);
  const leftBad = !revert && version !== "good";
  const encode =
    leftBad && s.endpointsUrl ? await encodeOnce(s.endpointsUrl, s.namespace).catch((err: unknown) => ({ error: (err as Error).message })) : undefined;
  // The next run starts from the old version, as it does after a revert.
  if (leftBad)
    expectExit(
      await s.cli(["upgrade", "--stack", STACK, "--to", from, "--yes", "--json"]),
      [0],
      `sie-fleet upgrade --to ${from} (back from ${tag}, which passed)`,
    );
  const r: Omit<UpgradeRun, "outcome"> = {
    version,
    tool: "sie-fleet",
    from,
    tag,
    exitCode: p.code,
    noticed: revert !== undefined,
    ...(revert ? { detectMs: revert.decidedAt - startedAt, revert } : {}),
    ...(back ? { backOnOldMs: back.at - startedAt } : {}),
    ...(servedAtEnd ? { servedAtEnd } : {}),
    ...(encode ? { encode } : {}),
    wallMs: p.ms,
  };
  return { ...r, outcome: outcome(r) };
}

async function helmUpgrade(twin: HelmTwin, endpointsUrl: string | undefined, version: Version, from: string, tag: string): Promise<UpgradeRun> {
  const watch = watchServedVersion(twin.kubeconfigPath, twin.namespace);
  const h = await helmAtomicUpgrade(twin, tag);
  const exitAt = Date.now();
  const noticed = h.proc.code !== 0;
  const decidedAt = noticed ? (h.rollbackAt ?? exitAt) : undefined;
  const { back, servedAtEnd } = await endWatch(watch, from, exitAt, decidedAt);
  const leftBad = !noticed && version !== "good";
  const encode =
    leftBad && endpointsUrl ? await encodeOnce(endpointsUrl, twin.namespace).catch((err: unknown) => ({ error: (err as Error).message })) : undefined;
  // The next run starts from the old version, as sie-fleet's does after its revert.
  const rollbackByHandMs = leftBad ? await helmRollbackByHand(twin) : undefined;
  const r: Omit<UpgradeRun, "outcome"> = {
    version,
    tool: "helm --atomic",
    from,
    tag,
    exitCode: h.proc.code,
    noticed,
    ...(decidedAt !== undefined ? { detectMs: decidedAt - h.startedAt, detectFrom: h.rollbackAt !== undefined ? "rollback log line" : "exit" } : {}),
    ...(back ? { backOnOldMs: back.at - h.startedAt } : {}),
    ...(servedAtEnd ? { servedAtEnd } : {}),
    ...(encode ? { encode } : {}),
    wallMs: h.proc.ms,
    helm: {
      ...(h.error ? { error: h.error } : {}),
      ...(decidedAt !== undefined ? { exitAfterDecisionMs: exitAt - decidedAt } : {}),
      ...(rollbackByHandMs !== undefined ? { rollbackByHandMs } : {}),
    },
  };
  return { ...r, outcome: outcome(r) };
}

async function manualRecovery(s: BenchStack, to: string): Promise<ManualRecovery> {
  const t0 = performance.now();
  expectExit(await s.pulumi(["config", "set", "--path", "sie-fleet:release.imageTag", to]), [0], "pulumi config set");
  expectExit(await s.pulumi(["up", "--yes", "--skip-preview"]), [0], "pulumi up");
  const pulumiUpMs = performance.now() - t0;
  const v = await s.cli(["verify", "--stack", STACK, "--json"]);
  const totalMs = performance.now() - t0;
  const result = jsonLines<Event>(v.stdout).find((e) => e.kind === "result" || e.kind === "error");
  if (!result) expectExit(v, [0], "sie-fleet verify");
  return { to, pulumiUpMs, verifyMs: v.ms, totalMs, verifyExit: v.code };
}

const otherGood = (tag: string) => (tag === GOOD[0] ? GOOD[1] : GOOD[0]);

// P2 and P3 read the same runs: when both are selected the upgrades happen once.
let shared: Promise<{ runs: UpgradeRun[]; manual: ManualRecovery[]; rounds: number }> | undefined;

function measure({ runs: requested, quick, log }: BenchOptions) {
  shared ??= (async () => {
    const rounds = requested ?? (quick ? 1 : 2);
    const release = localStackConfig().config["sie-fleet:release"] as { chart: string; version: string; releaseName: string; imageTag: string };
    const s = await benchStack({ prometheus: true, log });
    const runs: UpgradeRun[] = [];
    const manual: ManualRecovery[] = [];
    let twin: HelmTwin | undefined;
    try {
      await s.waitAllReady();
      log(`installing the Helm twin of the release in ${s.namespace}-helm`);
      twin = await installHelmTwin({
        kubeconfigPath: s.kubeconfigPath,
        release: release.releaseName,
        fromNamespace: s.namespace,
        // Where the stack's release found the chart: the fixture sets the chart base to the repository.
        chartDir: resolveChart(release, REPO_ROOT).chart,
        namespace: `${s.namespace}-helm`,
      });
      let current = release.imageTag;
      for (let round = 0; round < rounds; round++) {
        for (const version of VERSIONS) {
          const tag = version === "good" ? otherGood(current) : badTag(version);
          // Each tool goes first in every other round, so neither always runs on the busier machine.
          const order = round % 2 === 0 ? TOOLS : ([...TOOLS].reverse() as Tool[]);
          for (const tool of order) {
            await s.waitAllReady();
            await twin.waitAllReady();
            const r = tool === "sie-fleet" ? await sieFleetUpgrade(s, version, current, tag) : await helmUpgrade(twin, s.endpointsUrl, version, current, tag);
            runs.push(r);
            // A slow machine may not get through all versions: keep what was measured.
            writeResult("p2p3-partial", { partial: true, runs });
            log(`P2/P3 ${tool} → ${tag}: ${r.outcome}; detect ${r.detectMs === undefined ? "–" : secs(r.detectMs)}, back on ${current} ${backCell(r)}`);
            if (r.detectFrom === "exit") log(`helm --debug printed no rollback line (its detect is its exit): ${r.helm?.error ?? "no Error: line"}`);
          }
          if (version === "good") {
            const lagging = runs.slice(-2).filter((r) => r.servedAtEnd !== tag);
            if (lagging.length)
              throw new Error(`after the good upgrade to ${tag}: ${lagging.map((r) => `${r.tool} left ${r.servedAtEnd ?? "a mix"} serving`).join("; ")}`);
            current = tag;
          }
        }
      }
      for (let i = 0; i < Math.max(rounds, quick ? 1 : 3); i++) {
        current = otherGood(current);
        const r = await manualRecovery(s, current);
        manual.push(r);
        log(`P3 baseline → ${r.to}: pulumi up ${secs(r.pulumiUpMs)} + verify ${secs(r.verifyMs)} (exit ${r.verifyExit})`);
        await s.waitAllReady();
      }
    } finally {
      await twin?.remove();
      await s.stop();
    }
    return { runs, manual, rounds };
  })();
  return shared;
}

function backCell(r: UpgradeRun): string {
  if (r.version === "good") return "n/a";
  if (r.backOnOldMs !== undefined) return secs(r.backOnOldMs);
  return r.noticed ? `not within ${BACK_GRACE_MS / 1000} s of exit` : "never";
}

const runsOf = (runs: UpgradeRun[], version: Version, tool: Tool) => runs.filter((r) => r.version === version && r.tool === tool);
const list = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(", ");

/** One row of the side-by-side table: medians when every run has the figure, the per-run cells otherwise. */
function sideBySideRow(version: Version, tool: Tool, rs: UpgradeRun[]): string[] {
  const noticed = rs.filter((r) => r.noticed).length;
  const detect = rs.flatMap((r) => (r.detectMs === undefined ? [] : [r.detectMs]));
  const back = rs.flatMap((r) => (r.backOnOldMs === undefined ? [] : [r.backOnOldMs]));
  const backCol = version === "good" ? "n/a" : back.length === rs.length ? secs(median(back)) : [...new Set(rs.map(backCell))].join(" / ");
  return [
    version === "good" ? `good (${[...new Set(rs.map((r) => r.tag))].join(", ")})` : `-${version}`,
    tool,
    noticed === 0 ? "no" : noticed === rs.length ? "yes" : `${noticed}/${rs.length}`,
    detect.length ? secs(median(detect)) : "–",
    backCol,
    [...new Set(rs.map((r) => r.outcome))].join("; "),
    secs(median(rs.map((r) => r.wallMs))),
  ];
}

export const p2: Benchmark = {
  name: "p2-detect",
  title: `P2 time to detect a bad rollout: sie-fleet upgrade vs helm upgrade --atomic --timeout ${HELM_ATOMIC_TIMEOUT}`,
  async run(opts) {
    const { runs, rounds } = await measure(opts);
    const rows = VERSIONS.flatMap((v) => TOOLS.map((t) => ({ v, t, rs: runsOf(runs, v, t) })))
      .filter(({ rs }) => rs.length > 0)
      .map(({ v, t, rs }) => sideBySideRow(v, t, rs));
    const reverts = VERSIONS.filter((v) => v !== "good").map((v) => ({ v, rs: runsOf(runs, v, "sie-fleet").flatMap((r) => (r.revert ? [r.revert] : [])) }));
    const detail = reverts
      .filter(({ rs }) => rs.length > 0)
      .map(({ v, rs }) => [
        `-${v}`,
        secs(median(rs.map((r) => r.detectFromApplyMs))),
        secs(median(rs.map((r) => r.detectAfterApplyMs))),
        list(rs.map((r) => r.detectFromApplyMs)),
        [...new Set(rs.map((r) => r.failedGate))].join(", "),
      ]);
    return {
      tables: [
        table(
          `${this.title}, ${rounds} round(s), times from the command's start (medians)`,
          ["version", "tool", "noticed?", "detect", "back on old version", "outcome", "wall"],
          rows,
        ),
        table(
          "sie-fleet's own record (journal): apply start → revert decision",
          ["fault", "median", "of which after apply done", "runs (s)", "detected by"],
          detail,
        ),
      ],
      json: {
        method:
          "both tools timed from the command's start; detect = sie-fleet's revert.decide journal entry / helm --debug's '… atomic is set, rolling back' line; back = first 250 ms sample of the release's pods and workloads after that decision serving the old version only, every replica Ready (bench/servedVersion.ts)",
        helm: {
          command: `helm upgrade --atomic --timeout ${HELM_ATOMIC_TIMEOUT} --reuse-values --set <tag keys>=<tag>`,
          release: "twin of the stack's release, same chart and values, own namespace",
        },
        summary: Object.fromEntries(
          VERSIONS.map((v) => [
            v,
            Object.fromEntries(
              TOOLS.map((t) => {
                const rs = runsOf(runs, v, t);
                return [
                  t,
                  {
                    noticed: rs.filter((r) => r.noticed).length,
                    of: rs.length,
                    medianDetectMs: median(rs.flatMap((r) => (r.detectMs === undefined ? [] : [r.detectMs]))),
                    medianBackOnOldMs: median(rs.flatMap((r) => (r.backOnOldMs === undefined ? [] : [r.backOnOldMs]))),
                  },
                ];
              }),
            ),
          ]),
        ),
        runs,
      },
    };
  },
};

export const p3: Benchmark = {
  name: "p3-recover",
  title: "P3 time to recover (decision to go back → previous version serving)",
  async run(opts) {
    const { runs, manual } = await measure(opts);
    const rows: string[][] = [];
    for (const v of VERSIONS.filter((x) => x !== "good")) {
      for (const t of TOOLS) {
        const rs = runsOf(runs, v, t).filter((r) => r.noticed && r.detectMs !== undefined && r.backOnOldMs !== undefined);
        if (!rs.length) continue;
        const recover = rs.map((r) => r.backOnOldMs! - r.detectMs!);
        const note =
          t === "sie-fleet"
            ? `verified ${secs(median(rs.map((r) => r.revert!.recoverMs)))} after the decision (revert's pulumi up ${secs(median(rs.map((r) => r.revert!.revertUpMs)))})`
            : `helm exited ${secs(median(rs.map((r) => r.helm?.exitAfterDecisionMs ?? NaN)))} after the decision`;
        rows.push([`${t === "sie-fleet" ? "sie-fleet automatic revert" : "helm --atomic rollback"} (-${v})`, secs(median(recover)), list(recover), note]);
      }
    }
    const byHand = runs.flatMap((r) => (r.helm?.rollbackByHandMs === undefined ? [] : [r.helm.rollbackByHandMs]));
    if (byHand.length)
      rows.push(["helm rollback --wait by hand (what Helm let through)", secs(median(byHand)), list(byHand), "once a person noticed; not counted in P2"]);
    rows.push([
      "baseline: pulumi config set + up",
      secs(median(manual.map((m) => m.pulumiUpMs))),
      list(manual.map((m) => m.pulumiUpMs)),
      "healthy stack, changing the tag",
    ]);
    rows.push(["baseline: + sie-fleet verify", secs(median(manual.map((m) => m.totalMs))), list(manual.map((m) => m.totalMs)), ""]);
    return {
      tables: [table(this.title, ["method", "median", "runs (s)", "note"], rows)],
      json: {
        method:
          "decision (sie-fleet revert.decide / helm's rollback log line) → first 250 ms sample with the release serving the previous version only; sie-fleet's journal also gives decision → revert.verify evidence; baseline: raw pulumi config set + up, then sie-fleet verify, on the same stack (healthy, changing the tag)",
        summary: {
          medianRecoverMs: Object.fromEntries(
            VERSIONS.filter((v) => v !== "good").map((v) => [
              v,
              Object.fromEntries(
                TOOLS.map((t) => [
                  t,
                  median(
                    runsOf(runs, v, t).flatMap((r) =>
                      r.noticed && r.backOnOldMs !== undefined && r.detectMs !== undefined ? [r.backOnOldMs - r.detectMs] : [],
                    ),
                  ),
                ]),
              ),
            ]),
          ),
          sieFleetMedianVerifiedMs: median(runs.flatMap((r) => (r.revert ? [r.revert.recoverMs] : []))),
          helmRollbackByHandMedianMs: median(byHand),
          baselineMedianMs: { pulumiUp: median(manual.map((m) => m.pulumiUpMs)), pulumiUpPlusVerify: median(manual.map((m) => m.totalMs)) },
        },
        runs,
        baseline: manual,
      },
    };
  },
};
