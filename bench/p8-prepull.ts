// P8b: what the image pre-pull saves. A GPU worker's start is an image pull (multi-GB CUDA images)
// and then model loading; the embedded cluster plays both (cluster/endpoints/pullTimes.ts: a node
// without the image pulls it for the pull time, once; startDelays.ts: then the start). Four pools of
// one worker each, on a cluster of their own where each pool has one node of its GPU kind (as a
// node autoscaler keeps a pool's nodes close to its workers), are upgraded with the default wave
// plan twice: once with the chart's pre-pull DaemonSets (its default), which each pool wave waits
// for, so the later pools pull while the earlier waves roll; once with
// `workers.common.imagePrepull.enabled: false`, where every worker pulls as it starts. Each run goes
// to a tag no node has pulled yet.
//
// Lower bounds: with the pre-pull, the canary's pull and then every wave's start
// (pull + pools × start); without, every wave pulls and starts (pools × (pull + start)). Gates as in
// P8 (no Prometheus: prometheus and metric-gates left out, exit 7).
import * as os from "node:os";
import * as path from "node:path";
import { setPullTimes, setStartDelays, stopEmbeddedCluster } from "../cluster/index.js";
import { fakeNode } from "../cluster/nodes.js";
import { EXIT_CODES } from "../core/errors.js";
import { REPO_ROOT } from "../core/paths.js";
import type { GpuKind } from "../infra/hardware/gpuKinds.js";
import { deepMerge } from "../infra/release/releaseValues.js";
import { benchStack, dumpStack, expectExit, localStackConfig } from "./fixture.js";
import { useChartBudgets } from "./p8-realistic.js";
import { secs, table, writeResult } from "./report.js";
import { type Event, type WaveTime, jsonLines, waveTimes } from "./runData.js";
import type { Benchmark } from "./types.js";

const PULL_SECONDS = 60;
const START_SECONDS = 60;
const QUICK_SECONDS = 10;
const CLUSTER_DIR = path.join(REPO_ROOT, ".sie-fleet", "bench-prepull-cluster");
/** One pool per GPU kind, the canary first. */
const POOLS: readonly [string, GpuKind][] = [
  ["l4", "l4"],
  ["a100", "a100-40gb"],
  ["a100x", "a100-80gb"],
  ["cpu", "cpu"],
];

interface ModeResult {
  prepull: boolean;
  to: string;
  pullSeconds: number;
  startSeconds: number;
  wallMs: number;
  waves: WaveTime[];
  boundMs: number;
  at: string;
  loadavg1m: number;
}

/** The local stack with POOLS (one worker, one node each), the chart's budgets and P8's gates; without the pre-pull when asked. */
function prepullStack(prepull: boolean): string {
  const doc = localStackConfig();
  const pools: Record<string, unknown> = {};
  for (const [name, gpu] of POOLS) pools[name] = { gpu, minNodes: 1, maxNodes: 1, minReplicas: 1, maxReplicas: 1 };
  doc.config["sie-fleet:pools"] = pools;
  const rollout = doc.config["sie-fleet:rollout"];
  useChartBudgets(rollout);
  rollout.canaryPool = POOLS[0]![0];
  rollout.waveOrder = [];
  rollout.batchSize = 1;
  if (!prepull) {
    const release = doc.config["sie-fleet:release"];
    release.values = deepMerge(release.values ?? {}, { workers: { common: { imagePrepull: { enabled: false } } } });
  }
  return dumpStack(doc);
}

export const p8b: Benchmark = {
  name: "p8-prepull",
  title: "P8b image pre-pull: 4 single-node GPU pools, worker images pulled then started, with and without the pre-pull",
  async run({ quick, startSeconds, log }) {
    // --start-seconds sets both: a pull and a start of the same length.
    const start = startSeconds ?? (quick ? QUICK_SECONDS : START_SECONDS);
    const pull = startSeconds ?? (quick ? QUICK_SECONDS : PULL_SECONDS);
    const nodes = POOLS.map(([name, kind]) => fakeNode("gke", kind, name));
    const results: ModeResult[] = [];
    // Tags no node of this cluster has pulled: the pull is paid once per node and image.
    let patch = 100 + (Math.floor(Date.now() / 1000) % 800);
    try {
      for (const prepull of [true, false]) {
        const s = await benchStack({ stackFile: prepullStack(prepull), cluster: { dir: CLUSTER_DIR, nodes }, log });
        try {
          await s.waitAllReady();
          if (!s.endpointsUrl) throw new Error("the P8b cluster runs no SIE endpoint server, so no pull time or start delay can be set");
          const to = `v0.3.${patch++}`;
          await setPullTimes(s.endpointsUrl, [{ namespace: s.namespace, seconds: pull }]);
          await setStartDelays(s.endpointsUrl, [{ namespace: s.namespace, component: "worker", seconds: start }]);
          let p: Awaited<ReturnType<typeof s.cli>>;
          try {
            p = await s.cli(["upgrade", "--stack", "local", "--to", to, "--yes", "--json"]);
          } finally {
            await setPullTimes(s.endpointsUrl, [{ namespace: s.namespace, seconds: null }]);
            await setStartDelays(s.endpointsUrl, [{ namespace: s.namespace, component: "worker", seconds: null }]);
          }
          expectExit(
            p,
            [EXIT_CODES.unverified],
            `sie-fleet upgrade to ${to} (pre-pull ${prepull ? "on" : "off"}; exit 7: prometheus and metric-gates left out)`,
          );
          const n = POOLS.length;
          const r: ModeResult = {
            prepull,
            to,
            pullSeconds: pull,
            startSeconds: start,
            wallMs: p.ms,
            waves: waveTimes(jsonLines<Event>(p.stdout)),
            boundMs: (prepull ? pull + n * start : n * (pull + start)) * 1000,
            at: new Date().toISOString(),
            loadavg1m: Math.round(os.loadavg()[0]! * 100) / 100,
          };
          results.push(r);
          writeResult(this.name, { partial: true, results });
          log(`P8b pre-pull ${prepull ? "on" : "off"}: upgrade ${secs(r.wallMs)} (bound ${secs(r.boundMs)})`);
        } finally {
          await s.stop();
        }
      }
    } finally {
      await stopEmbeddedCluster(CLUSTER_DIR);
    }
    const wave = (r: ModeResult, name: string) => r.waves.find((w) => w.wave === name)?.ms ?? Number.NaN;
    const rows = results.map((r) => [
      r.prepull ? "on (waves wait for it)" : "off",
      secs(r.wallMs),
      secs(r.boundMs),
      `×${(r.wallMs / r.boundMs).toFixed(2)}`,
      secs(wave(r, "canary")),
      r.waves
        .filter((w) => w.waveKind === "pool" && w.wave !== "canary")
        .map((w) => secs(w.ms))
        .join(", "),
    ]);
    const [on, off] = [results.find((r) => r.prepull), results.find((r) => !r.prepull)];
    const saved = on && off ? `; the pre-pull saved ${secs(off.wallMs - on.wallMs)} (${Math.round((1 - on.wallMs / off.wallMs) * 100)} %)` : "";
    return {
      tables: [
        table(
          `${this.title} (pull ${pull} s, start ${start} s${saved})`,
          ["pre-pull", "wall", "lower bound", "wall / bound", "canary wave", "other pool waves"],
          rows,
        ),
      ],
      json: {
        method:
          "one `sie-fleet upgrade --json` per mode on a cluster of 4 nodes, one per pool (l4, a100-40gb, a100-80gb, cpu); pull times and start delays on this stack's workers during it",
        lowerBound: "pre-pull on: pull + pools × start; off: pools × (pull + start); gateway and config waves count 0",
        results,
      },
    };
  },
};
