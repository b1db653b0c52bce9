import { defineConfig } from "vitest/config";

// The unit lane: pure code and the Pulumi program under setMocks. No Pulumi CLI, no cluster, no
// tool builds, so it answers in seconds (`npm run test:unit`).
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/automation/**/*.test.ts", "test/cluster/**/*.test.ts", "test/verify/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    testTimeout: 30_000,
    reporters: ["default"],
  },
});
