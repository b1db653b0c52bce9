// P6: how long `npm run test:unit` takes (the unit lane: no Pulumi CLI, no cluster), as a process
// from the outside, vitest's own start included.
import { spawn } from "node:child_process";
import { REPO_ROOT } from "../core/paths.js";
import { max, median, secs, table } from "./report.js";
import type { Benchmark } from "./types.js";

const GOAL_MS = 30_000;

function unitLane(): Promise<{ ms: number; code: number | null; tests: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["scripts/run-tests.mjs", "--lane", "unit"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" },
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: performance.now() - t0, code, tests: Number(/(\d+) passed, \d+ failed/.exec(out)?.[1] ?? NaN) }));
  });
}

export const p6: Benchmark = {
  name: "p6-unit",
  title: "P6 npm run test:unit wall time",
  async run({ runs, quick, log }) {
    const n = runs ?? (quick ? 1 : 3);
    const samples: { ms: number; tests: number }[] = [];
    for (let i = 0; i < n; i++) {
      const r = await unitLane();
      if (r.code !== 0) throw new Error(`npm run test:unit exited ${r.code}`);
      samples.push({ ms: r.ms, tests: r.tests });
      log(`P6 run ${i + 1}/${n}: ${secs(r.ms)} (${r.tests} tests)`);
    }
    const med = median(samples.map((x) => x.ms));
    return {
      tables: [
        table(
          `${this.title}, ${n} runs`,
          ["median", "max", "runs (s)", "tests", "goal ≤ 30 s"],
          [
            [
              secs(med),
              secs(max(samples.map((x) => x.ms))),
              samples.map((x) => (x.ms / 1000).toFixed(1)).join(", "),
              samples[0]?.tests ?? "",
              med <= GOAL_MS ? "met" : `missed by ${secs(med - GOAL_MS)}`,
            ],
          ],
        ),
      ],
      json: { goalMs: GOAL_MS, medianMs: med, samples },
    };
  },
};
