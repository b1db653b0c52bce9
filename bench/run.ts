// `npm run bench [-- --only P1,P3] [--runs N] [--quick]`: runs the benchmarks one after the other
// (they share a 2-core machine with everything else, so never in parallel), prints each table
// and writes bench/results/<name>.json with the machine notes and the load during the run.
import { parseArgs } from "node:util";
import { ensurePulumi } from "../automation/engine/pulumiCli.js";
import { stopEmbeddedCluster } from "../cluster/index.js";
import { BENCH_CLUSTER_DIR } from "./fixture.js";
import { p1 } from "./p1-overhead.js";
import { p1b } from "./p1b-program.js";
import { p2, p3 } from "./p2p3-detect-recover.js";
import { p4 } from "./p4-scaling.js";
import { p5 } from "./p5-rss.js";
import { p6 } from "./p6-unit.js";
import { p8b } from "./p8-prepull.js";
import { p8 } from "./p8-realistic.js";
import { p9 } from "./p9-gate-latency.js";
import { loadSampler, machine, writeResult } from "./report.js";
import type { Benchmark } from "./types.js";

const ALL: Record<string, Benchmark> = { P1: p1, P1B: p1b, P2: p2, P3: p3, P4: p4, P5: p5, P6: p6, P8: p8, P8B: p8b, P9: p9 };

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    pools: { type: "string" },
    "start-seconds": { type: "string" },
    "batch-size": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: npm run bench -- [--only P1,P1b,P2,P3,P4,P5,P6,P8,P8b,P9] [--runs N] [--quick] [--pools 1,2,4 (P4 and P8 sizes)]\n" +
      "                        [--start-seconds 60 (P8: worker start delay; P8b: pull and start)] [--batch-size 4 (P8: the batched plan's rollout.batchSize)]\n",
  );
  process.exit(0);
}
const only = values.only ? values.only.split(",").map((s) => s.trim().toUpperCase()) : Object.keys(ALL);
const unknown = only.filter((k) => !ALL[k]);
if (unknown.length) {
  process.stderr.write(`--only: unknown benchmark ${unknown.join(", ")}; choose from ${Object.keys(ALL).join(", ")}\n`);
  process.exit(2);
}
const runs = values.runs === undefined ? undefined : Number(values.runs);
if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
  process.stderr.write(`--runs: "${values.runs}" is not a positive integer\n`);
  process.exit(2);
}

const pools = values.pools?.split(",").map(Number);
if (pools && !pools.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) {
  process.stderr.write(`--pools: "${values.pools}" must be a comma-separated list of pool counts between 1 and 64\n`);
  process.exit(2);
}
// The worker's startup-probe budget in the chart is 600 s: a longer delay never starts (killed at the budget).
const startSeconds = values["start-seconds"] === undefined ? undefined : Number(values["start-seconds"]);
if (startSeconds !== undefined && !(Number.isInteger(startSeconds) && startSeconds >= 1 && startSeconds < 600)) {
  process.stderr.write(`--start-seconds: "${values["start-seconds"]}" must be whole seconds from 1 to 599 (the chart's worker startup budget is 600 s)\n`);
  process.exit(2);
}
const batchSize = values["batch-size"] === undefined ? undefined : Number(values["batch-size"]);
if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1)) {
  process.stderr.write(`--batch-size: "${values["batch-size"]}" must be a whole number of pools per wave, at least 1\n`);
  process.exit(2);
}
const log = (l: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${l}\n`);
const pulumi = await ensurePulumi({ onProgress: log });
let failed = 0;
const t0 = Date.now();
for (const key of only) {
  const b = ALL[key]!;
  log(`${key}: ${b.title}`);
  const load = loadSampler();
  const started = new Date().toISOString();
  try {
    const out = await b.run({
      ...(runs !== undefined ? { runs } : {}),
      quick: values.quick,
      ...(pools ? { pools } : {}),
      ...(startSeconds !== undefined ? { startSeconds } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      log,
    });
    const env = { ...machine(pulumi.command), loadavg1m: load.stop(), started, finished: new Date().toISOString(), quick: values.quick };
    for (const t of out.tables) process.stdout.write(`${t}\n`);
    process.stdout.write(`(load average 1m during ${key}: min ${env.loadavg1m.min}, median ${env.loadavg1m.median}, max ${env.loadavg1m.max})\n`);
    log(`wrote ${writeResult(b.name, { benchmark: key, title: b.title, machine: env, ...out.json })}`);
  } catch (err) {
    load.stop();
    failed++;
    log(`${key} failed: ${(err as Error).stack ?? err}`);
  }
}
await stopEmbeddedCluster(BENCH_CLUSTER_DIR);
log(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} min${failed ? `, ${failed} benchmark(s) failed` : ""}`);
process.exit(failed ? 1 : 0);
