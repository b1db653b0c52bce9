// P5: peak resident memory during an upgrade of the local stack (default checks, a real
// Prometheus). The CLI's own figure is its VmHWM; the tree's is the largest simultaneous RSS of the
// CLI and everything it started (pulumi, the language host, the program, the dynamic provider),
// sampled every 100 ms.
import { benchStack, expectExit } from "./fixture.js";
import { max, median, mib, table } from "./report.js";
import type { Benchmark } from "./types.js";

export const p5: Benchmark = {
  name: "p5-rss",
  title: "P5 peak RSS during `sie-fleet upgrade` (local stack, 3 pools)",
  async run({ runs, quick, log }) {
    const n = runs ?? (quick ? 1 : 3);
    // With the bench's Prometheus: the stack's default checks include the Prometheus ones, and
    // an upgrade whose checks have nothing to look at is refused.
    const s = await benchStack({ prometheus: true, log });
    const samples: { to: string; wallMs: number; cliPeakKiB: number; treePeakKiB: number; childPeaksKiB: Record<string, number> }[] = [];
    try {
      await s.waitAllReady();
      for (let i = 0; i < n; i++) {
        const to = i % 2 === 0 ? "v0.3.2" : "v0.3.1";
        const p = await s.cli(["upgrade", "--stack", "local", "--to", to, "--yes", "--json"], { memory: true });
        expectExit(p, [0], `sie-fleet upgrade --to ${to}`);
        const m = p.memory!;
        samples.push({ to, wallMs: p.ms, cliPeakKiB: m.rootPeakKiB, treePeakKiB: m.treePeakKiB, childPeaksKiB: m.childPeaksKiB });
        log(`P5 run ${i + 1}/${n}: CLI ${mib(m.rootPeakKiB)}, tree ${mib(m.treePeakKiB)} (${m.samples} samples)`);
        await s.waitAllReady();
      }
    } finally {
      await s.stop();
    }
    const cli = samples.map((x) => x.cliPeakKiB);
    const tree = samples.map((x) => x.treePeakKiB);
    const children: Record<string, number> = {};
    for (const x of samples) for (const [k, v] of Object.entries(x.childPeaksKiB)) children[k] = Math.max(children[k] ?? 0, v);
    return {
      tables: [
        table(
          `${this.title}, ${n} run(s)`,
          ["process", "median peak", "max peak"],
          [
            ["sie-fleet CLI (VmHWM)", mib(median(cli)), mib(max(cli))],
            ["CLI + all descendants (sum of VmRSS at one sample)", mib(median(tree)), mib(max(tree))],
            ...Object.entries(children)
              .filter(([, v]) => v >= 10 * 1024)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => [`  descendant "${k}" (VmHWM, max of runs)`, "", mib(v)]),
            ["  (descendants under 10 MiB, e.g. the ensure-pulumi shell script, left out)", "", ""],
          ],
        ),
      ],
      json: {
        method: "/proc/<pid>/status VmHWM of the CLI; max over 100 ms samples of the summed VmRSS of the CLI's process tree",
        summary: { medianCliPeakKiB: median(cli), medianTreePeakKiB: median(tree), childPeaksKiB: children },
        samples,
      },
    };
  },
};
