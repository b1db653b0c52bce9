// P1: what sie-fleet adds on top of applying a tag change. The same change is applied by
// `sie-fleet upgrade` with the verification checks off (the rollout waits of each wave stay:
// they are the product) and by the raw Pulumi CLI on the same stack (config set + up). Raw
// `pulumi up` returns once the objects are written, before any pod is Ready, so the same raw
// runs are also timed until every workload is Ready: the fairer baseline.
import { jsonLines, phaseTimes, type Event } from "./runData.js";
import { benchStack, dumpStack, expectExit, localStackConfig } from "./fixture.js";
import { median, secs, table } from "./report.js";
import type { Benchmark } from "./types.js";

const TAGS = ["v0.3.2", "v0.3.1"] as const;

export const p1: Benchmark = {
  name: "p1-overhead",
  title: "P1 overhead: sie-fleet upgrade (gates off) vs raw pulumi up",
  async run({ runs, quick, log }) {
    const n = runs ?? (quick ? 2 : 5);
    const doc = localStackConfig();
    doc.config["sie-fleet:rollout"].gates.checks = { wave: [], final: [] };
    delete doc.config["sie-fleet:rollout"].gates.prometheusUrl;
    const s = await benchStack({ stackFile: dumpStack(doc), log });
    const samples: { run: number; who: "sie-fleet" | "pulumi"; to: string; ms: number; readyMs?: number; phasesMs?: Record<string, number> }[] = [];
    try {
      await s.waitAllReady();
      // ABBA order, and the tag flips every run: both sides apply both directions equally often.
      type Who = "sie-fleet" | "pulumi";
      const order: Who[] = [];
      for (let i = 0; order.length < 2 * n; i++) order.push(...(i % 2 === 0 ? (["sie-fleet", "pulumi"] as Who[]) : (["pulumi", "sie-fleet"] as Who[])));
      for (const [i, who] of order.entries()) {
        const to = TAGS[i % 2]!;
        if (who === "sie-fleet") {
          const p = await s.cli(["upgrade", "--stack", "local", "--to", to, "--yes", "--json"]);
          expectExit(p, [0], `sie-fleet upgrade --to ${to}`);
          samples.push({ run: i, who, to, ms: p.ms, phasesMs: phaseTimes(jsonLines<Event>(p.stdout)) });
          log(`P1 run ${i + 1}/${order.length}: sie-fleet upgrade → ${to}: ${secs(p.ms)}`);
        } else {
          const t0 = performance.now();
          const set = await s.pulumi(["config", "set", "--path", "sie-fleet:release.imageTag", to]);
          expectExit(set, [0], "pulumi config set");
          const up = await s.pulumi(["up", "--yes", "--skip-preview"]);
          expectExit(up, [0], "pulumi up");
          const ms = performance.now() - t0;
          await s.waitAllReady();
          const readyMs = performance.now() - t0;
          samples.push({ run: i, who, to, ms, readyMs });
          log(`P1 run ${i + 1}/${order.length}: pulumi config set + up → ${to}: ${secs(ms)} (all Ready after ${secs(readyMs)})`);
        }
        // Between runs everything must be settled, so no run pays for the previous one.
        await s.waitAllReady();
      }
    } finally {
      await s.stop();
    }
    const fleet = samples.filter((x) => x.who === "sie-fleet").map((x) => x.ms);
    const raw = samples.filter((x) => x.who === "pulumi").map((x) => x.ms);
    const rawReady = samples.filter((x) => x.who === "pulumi").map((x) => x.readyMs!);
    // Neighbouring runs share the machine's load of the moment: their ratios are less noisy.
    const paired: number[] = [];
    for (let i = 0; i + 1 < samples.length; i += 2) {
      const [a, b] = [samples[i]!, samples[i + 1]!];
      const fleetRun = a.who === "sie-fleet" ? a : b;
      const rawRun = a.who === "pulumi" ? a : b;
      paired.push(fleetRun.ms / rawRun.ms);
    }
    const summary = {
      pairedRatios: paired,
      medianPairedRatio: median(paired),
      runsEach: n,
      medianMs: { sieFleet: median(fleet), pulumiUp: median(raw), pulumiUpUntilReady: median(rawReady) },
      ratio: { vsPulumiUp: median(fleet) / median(raw), vsPulumiUpUntilReady: median(fleet) / median(rawReady) },
    };
    const phases = [...new Set(samples.flatMap((x) => Object.keys(x.phasesMs ?? {})))];
    const phaseRows = phases.map((ph) => [ph, secs(median(samples.filter((x) => x.phasesMs).map((x) => x.phasesMs![ph] ?? 0)))]);
    const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(", ");
    return {
      tables: [
        table(
          `${this.title} (${n} runs each, alternating ABBA)`,
          ["method", "median", "runs (s)", "sie-fleet / method"],
          [
            ["sie-fleet upgrade, checks off", secs(median(fleet)), fmt(fleet), "1.00"],
            ["pulumi config set + up", secs(median(raw)), fmt(raw), summary.ratio.vsPulumiUp.toFixed(2)],
            ["(ratio of neighbouring A/B runs, median)", "", paired.map((r) => r.toFixed(2)).join(", "), median(paired).toFixed(2)],
            ["pulumi config set + up + all Ready", secs(median(rawReady)), fmt(rawReady), summary.ratio.vsPulumiUpUntilReady.toFixed(2)],
          ],
        ),
        table("where the sie-fleet runs spend their time (median per phase, from the --json events)", ["phase", "median"], phaseRows),
      ],
      json: { summary, samples },
    };
  },
};
