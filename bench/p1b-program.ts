// P1b: one run of the Pulumi program on the local stack (`pulumi preview` with no change), and the
// start of the CLI (`sie-fleet status`), each loading the compiled JavaScript (what the CLI and
// the program load once `npm run build` has run) and the TypeScript through tsx (what they loaded
// before; still what they fall back to when a source is newer than the build). Alternating.
import { NO_COMPILED_ENV } from "../bin/compiled.mjs";
import { benchStack, expectExit } from "./fixture.js";
import { median, secs, table } from "./report.js";
import type { Benchmark } from "./types.js";

const LOADS = { compiled: {}, tsx: { [NO_COMPILED_ENV]: "1" } } as const;
type Load = keyof typeof LOADS;

export const p1b: Benchmark = {
  name: "p1b-program",
  title: "P1b program run (pulumi preview, no change) and CLI start (sie-fleet status), compiled vs tsx",
  async run({ runs, quick, log }) {
    const n = runs ?? (quick ? 2 : 5);
    const s = await benchStack({ log });
    const samples: { what: "preview" | "status"; load: Load; ms: number }[] = [];
    try {
      await s.waitAllReady();
      for (let i = 0; i < n; i++) {
        for (const load of (i % 2 === 0 ? ["compiled", "tsx"] : ["tsx", "compiled"]) as Load[]) {
          const p = await s.pulumi(["preview", "--expect-no-changes"], LOADS[load]);
          expectExit(p, [0], `pulumi preview (${load})`);
          samples.push({ what: "preview", load, ms: p.ms });
          const st = await s.cli(["status", "--stack", "local", "--json"], { env: LOADS[load] });
          expectExit(st, [0], `sie-fleet status (${load})`);
          samples.push({ what: "status", load, ms: st.ms });
          log(`P1b ${i + 1}/${n} ${load}: preview ${secs(p.ms)}, status ${secs(st.ms)}`);
        }
      }
    } finally {
      await s.stop();
    }
    const m = (what: string, load: Load) => median(samples.filter((x) => x.what === what && x.load === load).map((x) => x.ms));
    const summary = Object.fromEntries(
      (["preview", "status"] as const).map((w) => [w, { compiledMs: m(w, "compiled"), tsxMs: m(w, "tsx"), savedMs: m(w, "tsx") - m(w, "compiled") }]),
    );
    const fmt = (what: string, load: Load) =>
      samples
        .filter((x) => x.what === what && x.load === load)
        .map((x) => (x.ms / 1000).toFixed(2))
        .join(", ");
    return {
      tables: [
        table(
          `${this.title}, ${n} runs each`,
          ["run", "tsx (before)", "compiled (after)", "saved", "runs tsx / compiled (s)"],
          (["preview", "status"] as const).map((w) => [
            w === "preview" ? "pulumi preview, no change" : "sie-fleet status --json",
            secs(summary[w]!.tsxMs),
            secs(summary[w]!.compiledMs),
            secs(summary[w]!.savedMs),
            `${fmt(w, "tsx")} / ${fmt(w, "compiled")}`,
          ]),
        ),
      ],
      json: { summary, samples },
    };
  },
};
