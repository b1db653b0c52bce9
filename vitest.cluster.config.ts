import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/support/longestFirst.js";

// The control-plane lane: tests of the embedded cluster itself (start, restart, the daemon, kwok
// fault stages, the endpoint server, KEDA, Karpenter, the demo). Each file starts control planes
// of its own in its own directory, on ports it is given free. Two files at a time: most of a file's
// time is spent waiting (node registration delays, KEDA's polling, worker starts): one file at a
// time left the 2 cores about 65 % idle, two leave them about 48 % idle and halve the lane.
export default defineConfig({
  test: {
    include: ["test/slow/cluster/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    pool: "forks",
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});
