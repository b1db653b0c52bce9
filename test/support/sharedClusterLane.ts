/**
 * The vitest config of the lanes that share one embedded cluster (test/support/laneCluster.ts):
 * the real Pulumi CLI and the real Helm release, each file deploying its own stack in its own
 * namespace. Two files at a time: the machines have two cores and each file drives the engine and
 * the cluster. The longest files first, so none starts last and runs alone at the end
 * (test/support/longestFirst.ts). `npm test` runs the default and reliability lanes as one run of
 * both includes (vitest.shared.config.ts), so neither lane's last file runs alone.
 */
import { defineConfig } from "vitest/config";
import { LongestFirst } from "./longestFirst.js";

export const SHARED_CLUSTER_LANES = {
  default: ["test/engine/**/*.test.ts", "test/chart/**/*.test.ts"],
  reliability: ["test/reliability/**/*.test.ts"],
} as const;

export type SharedClusterLane = keyof typeof SHARED_CLUSTER_LANES;

export function sharedClusterLaneConfig(lanes: readonly SharedClusterLane[]) {
  return defineConfig({
    test: {
      include: lanes.flatMap((l) => SHARED_CLUSTER_LANES[l]),
      exclude: ["node_modules", "dist", ".sie-fleet"],
      globalSetup: ["test/support/laneCluster.ts"],
      pool: "forks",
      maxWorkers: 2,
      sequence: { sequencer: LongestFirst },
      testTimeout: 600_000,
      hookTimeout: 1_200_000,
      reporters: ["default"],
    },
  });
}
