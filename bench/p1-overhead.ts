// P1: what sie-fleet adds on top of applying a tag change. The same change is applied by
// `sie-fleet upgrade` (waves on, verification checks off: the rollout waits of each wave stay,
// they are the product) and by the raw Pulumi CLI on the same stack: `pulumi config set` and
// `pulumi up --yes` (Pulumi's default: preview, then update), or `pulumi up --yes --skip-preview`.
// Raw `pulumi up` returns once the objects are written, before any pod is Ready, so the raw runs
// are timed until every workload is rolled out and Ready, as an upgrade is.
import { jsonLines, ms, phaseTimes, type Event } from "./runData.js";
import { benchStack, dumpStack, expectExit, localStackConfig, type BenchStack } from "./fixture.js";
import { median, secs, table } from "./report.js";
import type { Benchmark } from "./types.js";

const TAGS = ["v0.3.2", "v0.3.1"] as const;
const METHODS = ["sie-fleet", "up", "up-skip-preview"] as const;
type Method = (typeof METHODS)[number];
const LABEL: Record<Method, string> = {
  "sie-fleet": "sie-fleet upgrade (waves on, checks off)",
  up: "pulumi config set + up --yes, until all Ready",
  "up-skip-preview": "pulumi config set + up --yes --skip-preview, until all Ready",
};
/** The goals: sie-fleet ≤ this × each baseline. */
const GOAL: Record<Exclude<Method, "sie-fleet">, number> = { up: 1.1, "up-skip-preview": 1.5 };

interface Sample {
  round: number;
  method: Method;
  to: string;
  ms: number;
  phasesMs?: Record<string, number>;
}

async function once(s: BenchStack, method: Method, to: string): Promise<Omit<Sample, "round" | "method" | "to">> {
  if (method === "sie-fleet") {
    const p = await s.cli(["upgrade", "--stack", "local", "--to", to, "--yes", "--json"]);
    expectExit(p, [0], `sie-fleet upgrade --to ${to}`);
    const events = jsonLines<Event>(p.stdout).filter((e) => e.time);
    const inside = events.length ? ms(events.at(-1)!.time!) - ms(events[0]!.time!) : 0;
    return { ms: p.ms, phasesMs: { "CLI start and exit": p.ms - inside, ...phaseTimes(events) } };
  }
  const t0 = performance.now();
  expectExit(await s.pulumi(["config", "set", "--path", "sie-fleet:release.imageTag", to]), [0], "pulumi config set");
  expectExit(await s.pulumi(["up", "--yes", ...(method === "up-skip-preview" ? ["--skip-preview"] : [])]), [0], `pulumi up (${method})`);
  await s.waitAllReady();
  return { ms: performance.now() - t0 };
}

export const p1: Benchmark = {
  name: "p1-overhead",
  title: "P1 overhead: sie-fleet upgrade vs raw pulumi up (both baselines)",
  async run({ runs, quick, log }) {
    const rounds = runs ?? (quick ? 2 : 5);
    const doc = localStackConfig();
    doc.config["sie-fleet:rollout"].gates.checks = { wave: [], final: [] };
    delete doc.config["sie-fleet:rollout"].gates.prometheusUrl;
    const s = await benchStack({ stackFile: dumpStack(doc), log });
    const samples: Sample[] = [];
    try {
      await s.waitAllReady();
      // Each round runs the three methods once, in an order that rotates (ABC, BCA, CAB, …), and
      // the tag flips at every run, so no method always follows another or always goes one way.
      let i = 0;
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < METHODS.length; k++) {
          const method = METHODS[(round + k) % METHODS.length]!;
          const to = TAGS[i++ % 2]!;
          const r = await once(s, method, to);
          samples.push({ round, method, to, ...r });
          log(`P1 round ${round + 1}/${rounds}: ${LABEL[method]} → ${to}: ${secs(r.ms)}`);
          // Between runs everything must be settled, so no run pays for the previous one.
          await s.waitAllReady();
        }
      }
    } finally {
      await s.stop();
    }
    const of = (m: Method) => samples.filter((x) => x.method === m);
    const ratios = (base: Exclude<Method, "sie-fleet">) =>
      [...Array(rounds).keys()].map(
        (r) => samples.find((x) => x.round === r && x.method === "sie-fleet")!.ms / samples.find((x) => x.round === r && x.method === base)!.ms,
      );
    const paired = { up: ratios("up"), "up-skip-preview": ratios("up-skip-preview") };
    const summary = {
      rounds,
      medianMs: Object.fromEntries(METHODS.map((m) => [m, median(of(m).map((x) => x.ms))])),
      pairedRatios: paired,
      medianPairedRatio: { up: median(paired.up), "up-skip-preview": median(paired["up-skip-preview"]) },
      goal: GOAL,
    };
    const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(", ");
    const verdict = (b: Exclude<Method, "sie-fleet">) => {
      const r = summary.medianPairedRatio[b];
      return r <= GOAL[b] ? `≤ ${GOAL[b]}: met` : `≤ ${GOAL[b]}: missed by ${(r - GOAL[b]).toFixed(2)}`;
    };
    const phases = [...new Set(samples.flatMap((x) => Object.keys(x.phasesMs ?? {})))];
    const phaseRows = phases.map((ph) => [ph, secs(median(of("sie-fleet").map((x) => x.phasesMs?.[ph] ?? 0)))]);
    return {
      tables: [
        table(
          `${this.title} (${rounds} rounds, order rotating per round)`,
          ["method", "median", "runs (s)", "sie-fleet / method, median of paired ratios", "goal"],
          [
            [LABEL["sie-fleet"], secs(summary.medianMs["sie-fleet"]!), fmt(of("sie-fleet").map((x) => x.ms)), "1.00", ""],
            [
              LABEL.up,
              secs(summary.medianMs.up!),
              fmt(of("up").map((x) => x.ms)),
              `${summary.medianPairedRatio.up.toFixed(2)} (${paired.up.map((r) => r.toFixed(2)).join(", ")})`,
              verdict("up"),
            ],
            [
              LABEL["up-skip-preview"],
              secs(summary.medianMs["up-skip-preview"]!),
              fmt(of("up-skip-preview").map((x) => x.ms)),
              `${summary.medianPairedRatio["up-skip-preview"].toFixed(2)} (${paired["up-skip-preview"].map((r) => r.toFixed(2)).join(", ")})`,
              verdict("up-skip-preview"),
            ],
          ],
        ),
        table("where the sie-fleet runs spend their time (median per phase, from the --json events)", ["phase", "median"], phaseRows),
      ],
      json: { summary, samples },
    };
  },
};
