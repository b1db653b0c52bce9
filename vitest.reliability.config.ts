import { defineConfig } from "vitest/config";

// The reliability lane: crash matrix, fault matrix, bad input, secrets. Every test
// drives the real CLI against the real Pulumi engine and the simulator, so files run in forks
// and at most two at a time (CI has two cores). SIE_FLEET_RELIABILITY=full widens the matrices.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ["default"],
  },
});
