import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/support/longestFirst.js";

// The reliability lane: crash and fault matrices, bad input, secrets, support bundles, driving the
// real CLI against the real engine on the shared embedded cluster (test/support/laneCluster.ts).
// At most two files at a time (CI has two cores). SIE_FLEET_RELIABILITY=full widens the matrices.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
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
