/**
 * The wave planner. Pure: from the rollout policy and the pools, the ordered waves of an
 * upgrade, leaf → core: canary pool → remaining pools in batches → gateway → config.
 * Workers are leaves (a bad worker hurts one pool), the config service is the core (one replica,
 * owns config writes), so it moves last, once everything else proved the new version.
 */
import { CONFIG_KEYS } from "../infra/configKeys.js";
import { ROLLOUT_POLICY } from "./defaults.js";
import { ConfigError, type ConfigProblem } from "./errors.js";
import type { WaveSpec } from "./types.js";

/** The `sie-fleet:rollout` keys the planner reads (infra/configSchema.ts rolloutSchema). */
export interface RolloutPolicy {
  /** Pool released alone first. Default: the first pool in waveOrder/config order. */
  canaryPool?: string;
  /** Order of the remaining pools; pools not listed follow in config order. */
  waveOrder?: readonly string[];
  /** Pools per wave after the canary (default 1). */
  batchSize?: number;
}

export interface PlanWavesInput {
  /** Enabled worker pools, in config order. */
  pools: readonly string[];
  policy?: RolloutPolicy;
  /** Prefix for keys in error messages (default "sie-fleet:rollout"). */
  keyPrefix?: string;
}

/**
 * Plans the waves: canary → remaining pools in batches (waveOrder first, then config order) →
 * gateway → config. Collects every problem in the policy and throws one ConfigError naming each key.
 */
export function planWaves(input: PlanWavesInput): WaveSpec[] {
  const prefix = input.keyPrefix ?? CONFIG_KEYS.rollout;
  const policy = input.policy ?? {};
  const problems: ConfigProblem[] = [];
  const pools = [...input.pools];

  const dupes = pools.filter((p, i) => pools.indexOf(p) !== i);
  if (dupes.length > 0) problems.push({ key: CONFIG_KEYS.pools, reason: `pool names must be unique; repeated: ${[...new Set(dupes)].join(", ")}` });
  pools.forEach((p, i) => {
    if (typeof p !== "string" || p.trim() === "") problems.push({ key: `${CONFIG_KEYS.pools}[${i}]`, reason: `pool name must be a non-empty string, got ${JSON.stringify(p)}` });
  });

  const batchSize = policy.batchSize ?? ROLLOUT_POLICY.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    problems.push({ key: `${prefix}.batchSize`, reason: `must be a whole number ≥ 1, got ${JSON.stringify(policy.batchSize)}` });
  }

  const choices = pools.length > 0 ? pools.join(", ") : "(no pools enabled)";
  if (policy.canaryPool !== undefined && !pools.includes(policy.canaryPool)) {
    problems.push({ key: `${prefix}.canaryPool`, reason: `"${policy.canaryPool}" is not an enabled pool; choose one of: ${choices}` });
  }

  const order = policy.waveOrder ?? [];
  const unknown = order.filter((p) => !pools.includes(p));
  const repeated = order.filter((p, i) => order.indexOf(p) !== i);
  if (unknown.length > 0) {
    problems.push({ key: `${prefix}.waveOrder`, reason: `${unknown.map((u) => JSON.stringify(u)).join(", ")} ${unknown.length === 1 ? "is not an enabled pool" : "are not enabled pools"}; choose from: ${choices}` });
  }
  if (repeated.length > 0) {
    problems.push({ key: `${prefix}.waveOrder`, reason: `lists ${[...new Set(repeated)].join(", ")} more than once` });
  }

  if (problems.length > 0) throw new ConfigError(problems, { hint: "fix the keys above in stacks/Pulumi.<stack>.yaml and re-run" });

  const ordered = [...new Set([...order, ...pools])];
  const canary = policy.canaryPool ?? ordered[0];
  const waves: WaveSpec[] = [];
  if (canary !== undefined) {
    waves.push({ name: "canary", kind: "pool", pools: [canary] });
    const rest = ordered.filter((p) => p !== canary);
    for (let i = 0; i < rest.length; i += batchSize) {
      waves.push({ name: `pools-${i / batchSize + 1}`, kind: "pool", pools: rest.slice(i, i + batchSize) });
    }
  }
  waves.push({ name: "gateway", kind: "gateway" }, { name: "config", kind: "config" });
  return waves;
}
