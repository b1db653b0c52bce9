// P8: realistic upgrade time. GPU workers take about a minute to load their models before they
// pass their startup probe; on the embedded cluster a start delay plays that (kwok keeps each new
// worker Running, unstarted and unready for that long; cluster/endpoints/startDelays.ts). Stacks of
// 1, 4 and 16 cpu pools (P4's stacks, one worker per pool) are each upgraded once with the default
// wave plan (batchSize 1) and once batched, `--json`, with the delay on this stack's workers only.
// Each run is set against its lower bound (upgradeLowerBound.ts): what the wave plan alone forces
// with that start time, so "wall / bound" is what the tool adds on top.
//
// Gates: bench stacks have no Prometheus (fixture.ts localStackConfig drops sie-fleet:monitoring),
// and a check with nothing to look at refuses the upgrade, so prometheus and metric-gates are left
// out with rollout.gates.skip: each run ends succeeded-unverified (exit 7), and no pool wave waits
// out an observation window (the bound's windows are 0; metricWindowSeconds reads that from the
// stack file used, so it follows if the gates are turned on). Every other wave check of the local
// stack runs.
//
// One upgrade per plan and size (--runs is not used): at about 1.5 min per plan for 1 pool and
// 17 min for 16 pools with the default plan, the whole benchmark takes about 40 min.
import * as fs from "node:fs";
import * as os from "node:os";
import yaml from "js-yaml";
import { setStartDelays } from "../cluster/index.js";
import { EXIT_CODES } from "../core/errors.js";
import { type BenchStack, benchStack, dumpStack, expectExit } from "./fixture.js";
import { stackWithPools } from "./p4-scaling.js";
import { max, median, previousResults, secs, table, writeResult } from "./report.js";
import { UPGRADE_PHASES, type Event, type WaveTime, jsonLines, phaseTimes, waveTimes } from "./runData.js";
import type { Benchmark } from "./types.js";
import { type LowerBound, metricWindowSeconds, upgradeLowerBound } from "./upgradeLowerBound.js";

const START_SECONDS = 60;
const QUICK_START_SECONDS = 10;
/**
 * The batched plan: 4 is √16. At 16 pools it cuts the 15 waves after the canary to 4 while a bad
 * version that passes the canary still reaches at most a quarter of the fleet before a wave's
 * gates stop it; at 4 pools it puts every pool after the canary in one wave, the most batching can
 * gain there. It costs no extra capacity: a StatefulSet replaces its pod in place (no surge), and
 * 4 of these pools (100m CPU each) start together easily on the cluster's 4 CPU nodes.
 */
const BATCH_SIZE = 4;

interface PlanResult {
  pools: number;
  batchSize: number;
  startSeconds: number;
  to: string;
  /** The CLI process, start to exit. */
  wallMs: number;
  phasesMs: Record<string, number>;
  /** Released → succeeded, in run order (canary, pools-1…, gateway, config). */
  waves: WaveTime[];
  bound: LowerBound & { windowSeconds: number };
  wallOverBound: number;
  at: string;
  loadavg1m: number;
}

/**
 * P4's stack without the local stack's short rollout timeouts, so the chart's budgets apply (a
 * starting worker may take 11 min, a wave 20 min) and any --start-seconds below the worker's
 * startup budget passes; and with the Prometheus checks left out (see the top of this file).
 */
function realisticStack(pools: number): string {
  const doc = yaml.load(stackWithPools(pools)) as Record<string, any>;
  useChartBudgets(doc.config["sie-fleet:rollout"]);
  return dumpStack(doc);
}

/** A stack file's rollout settings with the chart's budgets instead of the local stack's short timeouts, and the Prometheus checks left out (bench stacks have no Prometheus). */
export function useChartBudgets(rollout: Record<string, any>): void {
  delete rollout.timeouts;
  rollout.gates.skip = ["prometheus", "metric-gates"];
}

/** Sets rollout.batchSize in the scratch project's stack file; returns the config the next run reads. */
function useBatchSize(s: BenchStack, batchSize: number): Record<string, any> {
  const doc = yaml.load(fs.readFileSync(s.configFile, "utf8")) as Record<string, any>;
  doc.config["sie-fleet:rollout"].batchSize = batchSize;
  fs.writeFileSync(s.configFile, dumpStack(doc));
  return doc.config;
}

async function upgradeOnce(s: BenchStack, o: { pools: number; batchSize: number; startSeconds: number; to: string }): Promise<PlanResult> {
  const config = useBatchSize(s, o.batchSize);
  const windowSeconds = metricWindowSeconds(config);
  const bound = upgradeLowerBound({ pools: o.pools, batchSize: o.batchSize, startSeconds: o.startSeconds, windowSeconds });
  if (!s.endpointsUrl)
    throw new Error("the bench cluster runs no SIE endpoint server, so no start delay can be set; restart it with `sie-fleet cluster start`");
  const target = { namespace: s.namespace, component: "worker" as const };
  await setStartDelays(s.endpointsUrl, [{ ...target, seconds: o.startSeconds }]);
  let p: Awaited<ReturnType<BenchStack["cli"]>>;
  try {
    p = await s.cli(["upgrade", "--stack", "local", "--to", o.to, "--yes", "--json"]);
  } finally {
    await setStartDelays(s.endpointsUrl, [{ ...target, seconds: null }]);
  }
  expectExit(p, [EXIT_CODES.unverified], `sie-fleet upgrade (${o.pools} pools, batch ${o.batchSize}; exit 7: prometheus and metric-gates left out)`);
  const events = jsonLines<Event>(p.stdout);
  const waves = waveTimes(events);
  const poolWaves = waves.filter((w) => w.waveKind === "pool").length;
  // A bound for another plan than the one run would make the ratio meaningless.
  if (poolWaves !== bound.poolWaves)
    throw new Error(
      `${o.pools} pools with batchSize ${o.batchSize} should run ${bound.poolWaves} pool waves, the upgrade ran ${poolWaves} (${waves.map((w) => w.wave).join(", ")}); is rollout.batchSize in ${s.configFile} read?`,
    );
  return {
    ...o,
    wallMs: p.ms,
    phasesMs: phaseTimes(events),
    waves,
    bound: { ...bound, windowSeconds },
    wallOverBound: p.ms / bound.ms,
    at: new Date().toISOString(),
    loadavg1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export const p8: Benchmark = {
  name: "p8-realistic",
  title: "P8 realistic upgrade time: slow-starting workers, default and batched wave plans",
  async run({ quick, pools, startSeconds, batchSize, log }) {
    const sizes = pools ?? (quick ? [1] : [1, 4, 16]);
    const start = startSeconds ?? (quick ? QUICK_START_SECONDS : START_SECONDS);
    const batches = [...new Set([1, batchSize ?? BATCH_SIZE])];
    // With --pools, sizes an earlier run measured with the same start time and plans are kept.
    const earlier = pools
      ? previousResults<PlanResult>(this.name).filter((r) => !sizes.includes(r.pools) && r.startSeconds === start && batches.includes(r.batchSize))
      : [];
    const results: PlanResult[] = [...earlier];
    for (const n of sizes) {
      const s = await benchStack({ stackFile: realisticStack(n), log });
      try {
        await s.waitAllReady();
        for (const [i, batch] of batches.entries()) {
          const r = await upgradeOnce(s, { pools: n, batchSize: batch, startSeconds: start, to: i % 2 === 0 ? "v0.3.2" : "v0.3.1" });
          results.push(r);
          log(
            `P8 ${n} pool(s), batch ${batch}: upgrade ${secs(r.wallMs)}, ${r.waves.length} waves, lower bound ${secs(r.bound.ms)} (×${r.wallOverBound.toFixed(2)})`,
          );
          // A 16-pool run is long and may be cut short: keep what was measured so far.
          writeResult(this.name, { partial: true, startSeconds: start, results });
          await s.waitAllReady();
        }
      } finally {
        await s.stop();
      }
    }
    results.sort((a, b) => a.pools - b.pools || a.batchSize - b.batchSize);
    const waveMs = (r: PlanResult, kind: string) => r.waves.filter((w) => w.waveKind === kind).map((w) => w.ms);
    const summary = results.map((r) => [
      r.pools,
      r.batchSize,
      r.waves.length,
      secs(r.wallMs),
      secs(r.bound.ms),
      `×${r.wallOverBound.toFixed(2)}`,
      secs(r.phasesMs["wave"] ?? NaN),
      `${secs(median(waveMs(r, "pool")))} (${secs(max(waveMs(r, "pool")))})`,
      `${secs(waveMs(r, "gateway")[0] ?? NaN)}, ${secs(waveMs(r, "config")[0] ?? NaN)}`,
      secs(r.wallMs - (r.phasesMs["wave"] ?? 0)),
    ]);
    const cols = UPGRADE_PHASES.filter((c) => results.some((r) => (r.phasesMs[c] ?? 0) > 0));
    const phases = results.map((r) => [r.pools, r.batchSize, ...cols.map((c) => secs(r.phasesMs[c] ?? 0))]);
    return {
      tables: [
        table(
          `${this.title} (workers start in ${start} s; lower bound = pool waves × ${start} s start + observation windows, gateway and config waves 0)`,
          ["pools", "batch", "waves", "wall", "lower bound", "wall / bound", "wave phase", "pool wave median (max)", "gateway, config wave", "outside waves"],
          summary,
        ),
        table(`P8 wall time per phase (from the --json events)`, ["pools", "batch", ...cols], phases),
      ],
      json: {
        method:
          "one `sie-fleet upgrade --json` per stack size and plan, a start delay on the stack's workers during it; phases and waves from the NDJSON progress events",
        lowerBound:
          "canary start + ceil((pools - 1) / batchSize) × start + one observation window per pool wave (0: prometheus and metric-gates skipped); gateway and config waves count 0 (no delay on them); preview, apply and the other gates are not in it",
        startSeconds: start,
        batchSizes: batches,
        sizes: [...new Set(results.map((r) => r.pools))],
        measuredNow: sizes,
        results,
      },
    };
  },
};
