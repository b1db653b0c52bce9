// P4: how an upgrade scales with the number of pools. Stack files with N cpu pools (small CPU
// requests, so 16 fit the embedded cluster's 4 CPU nodes) are deployed fresh, then upgraded once
// with `--json`; wall time per phase comes from the NDJSON progress events. Waves are sequential
// by design (canary first, then batchSize pools per wave); the final verification runs its
// checks `rollout.gates.concurrency` at a time, which shows as gate time summed over checks
// exceeding the verify phase's wall time.
import { benchStack, dumpStack, expectExit, localStackConfig } from "./fixture.js";
import { UPGRADE_PHASES, jsonLines, ms, phaseTimes, waveTimes, type Event } from "./runData.js";
import * as os from "node:os";
import { median, mib, previousResults, secs, table, writeResult } from "./report.js";
import type { Benchmark } from "./types.js";

export function stackWithPools(n: number): string {
  const doc = localStackConfig();
  const pools: Record<string, unknown> = {};
  const resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "200m", memory: "512Mi" } };
  for (let i = 1; i <= n; i++) pools[`cpu${i}`] = { gpu: "cpu", minNodes: 1, maxNodes: 1, minReplicas: 1, maxReplicas: 1, resources };
  doc.config["sie-fleet:pools"] = pools;
  doc.config["sie-fleet:rollout"].canaryPool = "cpu1";
  doc.config["sie-fleet:rollout"].waveOrder = [];
  return dumpStack(doc);
}

interface SizeResult {
  pools: number;
  run: number;
  wallMs: number;
  /** Process wall time outside the first..last event: CLI start (tsx compiles on the fly) and exit. */
  outsideEventsMs: number;
  phasesMs: Record<string, number>;
  waves: number;
  medianWaveMs: number;
  verify: { wallMs: number; checks: number; summedCheckMs: number; concurrency: number };
  /** When this size was measured and the 1-minute load average then (runs may come from separate invocations). */
  at?: string;
  loadavg1m?: number;
  cliPeakRssKiB?: number;
  treePeakRssKiB?: number;
}

export const p4: Benchmark = {
  name: "p4-scaling",
  title: "P4 scaling: one upgrade on 1..16 pools, wall time per phase",
  async run({ runs, quick, pools, log }) {
    const sizes = pools ?? (quick ? [1, 2] : [1, 2, 4, 8, 16]);
    const reps = runs && runs < 5 ? runs : 1;
    // With --pools, sizes measured by an earlier run and not asked for now are kept.
    const earlier = pools ? previousResults<SizeResult>(this.name).filter((r) => !sizes.includes(r.pools)) : [];
    const results: SizeResult[] = [...earlier];
    for (const n of sizes) {
      const s = await benchStack({ stackFile: stackWithPools(n), log });
      try {
        await s.waitAllReady();
        for (let r = 0; r < reps; r++) {
          const to = r % 2 === 0 ? "v0.3.2" : "v0.3.1";
          const p = await s.cli(["upgrade", "--stack", "local", "--to", to, "--yes", "--json"], { memory: true });
          expectExit(p, [0], `sie-fleet upgrade (${n} pools)`);
          const events = jsonLines<Event>(p.stdout);
          const phasesMs = phaseTimes(events);
          const waveSpans = waveTimes(events).map((w) => w.ms);
          const verifyGates = events.filter((e) => e.kind === "gate" && e.phase === "verify" && e.gate);
          const summed = verifyGates.reduce((a, e) => a + (e.gate!.durationMs ?? 0), 0);
          const vWall = phasesMs["verify"] ?? NaN;
          results.push({
            pools: n,
            run: r,
            wallMs: p.ms,
            at: new Date().toISOString(),
            loadavg1m: Math.round(os.loadavg()[0]! * 100) / 100,
            outsideEventsMs: p.ms - (ms(events.findLast((e) => e.time)?.time ?? "") - ms(events.find((e) => e.time)?.time ?? "")),
            phasesMs,
            waves: waveSpans.length,
            medianWaveMs: median(waveSpans),
            verify: { wallMs: vWall, checks: verifyGates.length, summedCheckMs: summed, concurrency: summed / vWall },
            ...(p.memory ? { cliPeakRssKiB: p.memory.rootPeakKiB, treePeakRssKiB: p.memory.treePeakKiB } : {}),
          });
          log(
            `P4 ${n} pool(s): upgrade ${secs(p.ms)}, ${waveSpans.length} waves, verify ${secs(vWall)} for ${verifyGates.length} checks (${secs(summed)} summed)`,
          );
          await s.waitAllReady();
        }
      } finally {
        await s.stop();
      }
      // A long run may be cut short: keep what was measured so far.
      writeResult(this.name, { partial: true, sizesDone: [...new Set(results.map((r) => r.pools))], results });
    }
    const cols = UPGRADE_PHASES.filter((c) => results.some((r) => (r.phasesMs[c] ?? 0) > 0));
    const allSizes = [...new Set(results.map((r) => r.pools))].sort((a, b) => a - b);
    const rows = allSizes.map((n) => {
      const rs = results.filter((r) => r.pools === n);
      const m = (f: (r: SizeResult) => number) => median(rs.map(f));
      return [
        n,
        secs(m((r) => r.wallMs)),
        secs(m((r) => r.outsideEventsMs)),
        ...cols.map((c) => secs(m((r) => r.phasesMs[c] ?? 0))),
        m((r) => r.waves),
        secs(m((r) => r.medianWaveMs)),
        `${m((r) => r.verify.checks)} checks, ${secs(m((r) => r.verify.summedCheckMs))} summed, ×${m((r) => r.verify.concurrency).toFixed(1)}`,
        `${mib(m((r) => r.cliPeakRssKiB ?? NaN))} / ${mib(m((r) => r.treePeakRssKiB ?? NaN))}`,
      ];
    });
    return {
      tables: [
        table(
          `${this.title} (${reps} run(s) per size; wave/verify columns are wall time of that phase)`,
          ["pools", "total", "CLI start/exit", ...cols, "waves", "per wave", "final verify: checks run concurrently", "RSS CLI / tree"],
          rows,
        ),
      ],
      json: { method: "NDJSON progress events of `sie-fleet upgrade --json`, cut where the phase changes", sizes: allSizes, measuredNow: sizes, results },
    };
  },
};
