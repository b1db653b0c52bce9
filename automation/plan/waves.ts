/**
 * The wave planner. Pure: from the validated rollout config and the deployed pools, the ordered
 * waves of an upgrade, leaf → core: canary pool → remaining pools in batches → gateway → config.
 * Workers are leaves (a bad worker hurts one pool), the config service is the core (one replica,
 * owns config writes), so it moves last, once everything else proved the new version.
 */
import type { RolloutConfig } from "../../infra/config/configTypes.js";
import type { WaveSpec } from "../../core/types.js";

/**
 * Plans the waves over `pools`, the deployed pools that run workers: the canary, then the others
 * in batches of `batchSize` (waveOrder first, then in `pools` order), then gateway and config.
 * infra/config/configRules.ts checked that canaryPool and waveOrder name pools with workers; a pool the
 * config names but the stack has not deployed yet has nothing to roll and is left out.
 */
export function planWaves(pools: readonly string[], rollout: Pick<RolloutConfig, "canaryPool" | "waveOrder" | "batchSize">): WaveSpec[] {
  const ordered = [...new Set([...rollout.waveOrder.filter((p) => pools.includes(p)), ...pools])];
  const canary = rollout.canaryPool !== undefined && pools.includes(rollout.canaryPool) ? rollout.canaryPool : ordered[0];
  const waves: WaveSpec[] = [];
  if (canary !== undefined) {
    waves.push({ name: "canary", kind: "pool", pools: [canary] });
    const rest = ordered.filter((p) => p !== canary);
    for (let i = 0; i < rest.length; i += rollout.batchSize) {
      waves.push({ name: `pools-${i / rollout.batchSize + 1}`, kind: "pool", pools: rest.slice(i, i + rollout.batchSize) });
    }
  }
  waves.push({ name: "gateway", kind: "gateway" }, { name: "config", kind: "config" });
  return waves;
}
