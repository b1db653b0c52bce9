import { defineConfig } from "vitest/config";

// The control-plane lane: tests of the embedded cluster itself (start, restart, the daemon, kwok
// fault stages, the endpoint server, the KEDA operator). Each file starts control planes of its
// own, which is most of a 2-core machine, so files run one at a time.
export default defineConfig({
  test: {
    include: ["test/slow/cluster/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});
