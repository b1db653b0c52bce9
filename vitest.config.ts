import { defineConfig } from "vitest/config";

// The default lane: unit tests plus the real-engine tests. Engine tests spawn the Pulumi CLI and
// the simulator, so they run in forks and never share a state directory.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "infra/**/*.test.ts", "automation/**/*.test.ts", "cluster/**/*.test.ts", "sim/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet", "test/slow/**", "test/reliability/**"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
