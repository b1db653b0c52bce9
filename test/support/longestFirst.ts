/**
 * The lanes run two files at a time, each worker taking the next file when it is free, so a long
 * file that starts last runs alone at the end and sets the lane's length. This sequencer starts
 * the longest files first: the heavy files by the hints below (a fresh CI clone has no cache, and
 * a cache holds what filtered runs took), the others by the durations vitest cached from an
 * earlier run when it has them, else in vitest's own order after them.
 */
import * as path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Rough wall seconds of the heavy files in a CI run (two files at a time on the shared cluster):
 * only an order, so they need to be right about which files are long, not exact.
 */
export const FILE_SECONDS_HINT: Readonly<Record<string, number>> = {
  // default lane
  "test/engine/promotion.test.ts": 370,
  "test/engine/faults.test.ts": 360,
  "test/engine/teamSafe.test.ts": 355,
  "test/engine/fleet.test.ts": 355,
  "test/engine/cloudShaped.test.ts": 265,
  "test/engine/slowStart.test.ts": 260,
  "test/engine/chartUpgrade.test.ts": 195,
  "test/engine/rollback.test.ts": 195,
  "test/engine/zeroReplicas.test.ts": 175,
  "test/engine/capacity.test.ts": 145,
  "test/engine/metricGates.test.ts": 140,
  "test/engine/preflight.test.ts": 110,
  "test/engine/rbac.test.ts": 110,
  // reliability lane
  "test/reliability/faults.test.ts": 830,
  "test/reliability/crash.test.ts": 635,
  "test/reliability/badInput.test.ts": 195,
  "test/reliability/secrets.test.ts": 155,
  // cluster lane
  "test/slow/cluster/zeroPoolNode.test.ts": 210,
  "test/slow/cluster/demo.test.ts": 150,
  "test/slow/cluster/liveKeda.test.ts": 120,
  "test/slow/cluster/endpoints.test.ts": 115,
  "test/slow/cluster/karpenter.test.ts": 85,
  "test/slow/cluster/keda.test.ts": 60,
  "test/slow/cluster/embedded.test.ts": 50,
};

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const root = this.ctx.config.root;
    const ms = (spec: TestSpecification): number => {
      const rel = path.relative(root, spec.moduleId).split(path.sep).join("/");
      const hint = FILE_SECONDS_HINT[rel];
      return hint !== undefined ? hint * 1000 : (this.ctx.cache.getFileTestResults(`${spec.project.name}:${rel}`)?.duration ?? 0);
    };
    // Array.prototype.sort is stable: files with equal weight keep vitest's order.
    return base
      .map((spec) => ({ spec, ms: ms(spec) }))
      .sort((a, b) => b.ms - a.ms)
      .map((e) => e.spec);
  }
}
