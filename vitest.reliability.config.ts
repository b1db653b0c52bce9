import { defineConfig } from "vitest/config";

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
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
    reporters: ["default"],
  },
});
