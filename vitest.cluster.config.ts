import { defineConfig } from "vitest/config";

// The real-control-plane lane (scripts/test-cluster). Each file starts its own etcd, apiserver,
// controller-manager, scheduler and kwok, which is most of a 2-core machine, so files run one at
// a time; tests inside a file share the cluster.
export default defineConfig({
  test: {
    include: ["test/slow/cluster/**/*.test.ts"],
    exclude: ["node_modules", "dist", ".sie-fleet"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    reporters: ["default"],
  },
});
