import { defineConfig } from "vitest/config";

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
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
    reporters: ["default"],
  },
});
