import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/support/longestFirst.js";

// The engine lane: the real Pulumi CLI and the real Helm release on one embedded cluster shared by
// every file (test/support/laneCluster.ts); each file deploys its own stack in its own namespace.
// Two files at a time: the machines have two cores and each file drives the engine and the cluster.
export default defineConfig({
  test: {
    include: ["test/engine/**/*.test.ts", "test/chart/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    globalSetup: ["test/support/laneCluster.ts"],
    pool: "forks",
    maxWorkers: 2,
    // The longest files first, so none starts last and runs alone at the end (test/support/longestFirst.ts).
    sequence: { sequencer: LongestFirst },
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
    reporters: ["default"],
  },
});
