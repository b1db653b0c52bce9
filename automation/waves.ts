/**
 * The wave planner. Pure: from the rollout policy and the pools, the ordered waves of an
 * upgrade, leaf → core: canary pool → remaining pools in batches → gateway → config.
 * Workers are leaves (a bad worker hurts one pool), the config service is the core (one replica,
 * owns config writes), so it moves last, once everything else proved the new version.
 */
import { ROLLOUT_POLICY } from "./defaults.js";
import { ConfigError, type ConfigProblem } from "./errors.js";
import type { WaveSpec } from "./types.js";

export type WaveGroup = "pools" | "gateway" | "config";
const WAVE_GROUPS: readonly WaveGroup[] = ["pools", "gateway", "config"];

export interface RolloutPolicy {
  /** Pool released alone first. Default: the first pool. */
  canaryPool?: string;
  /** Pools per wave after the canary (default 1). */
  batchSize?: number;
  /** Order of the groups; each of pools, gateway, config exactly once (default leaf → core). */
  waveOrder?: readonly string[];
}

export interface PlanWavesInput {
  /** Enabled worker pools, in config order. */
  pools: readonly string[];
  policy?: RolloutPolicy;
  /** Prefix for config keys in error messages, e.g. "sie-fleet:rollout". */
  keyPrefix?: string;
}

/**
 * Plans the waves. Collects every problem in the policy and throws one ConfigError naming each key.
 */
export function planWaves(input: PlanWavesInput): WaveSpec[] {
  const prefix = input.keyPrefix ?? "rollout";
  const policy = input.policy ?? {};
  const problems: ConfigProblem[] = [];
  const pools = [...input.pools];

  const dupes = pools.filter((p, i) => pools.indexOf(p) !== i);
  if (dupes.length > 0) problems.push({ key: "pools", reason: `pool names must be unique; repeated: ${[...new Set(dupes)].join(", ")}` });
  pools.forEach((p, i) => {
    if (typeof p !== "string" || p.trim() === "") problems.push({ key: `pools[${i}]`, reason: `pool name must be a non-empty string, got ${JSON.stringify(p)}` });
  });

  const batchSize = policy.batchSize ?? ROLLOUT_POLICY.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    problems.push({ key: `${prefix}.batchSize`, reason: `must be a whole number ≥ 1, got ${JSON.stringify(policy.batchSize)}` });
  }

  if (policy.canaryPool !== undefined && !pools.includes(policy.canaryPool)) {
    problems.push({
      key: `${prefix}.canaryPool`,
      reason: `"${policy.canaryPool}" is not an enabled pool; choose one of: ${pools.length > 0 ? pools.join(", ") : "(no pools enabled)"}`,
    });
  }

  const order = policy.waveOrder ?? ROLLOUT_POLICY.waveOrder;
  const unknown = order.filter((g) => !(WAVE_GROUPS as readonly string[]).includes(g));
  const missing = WAVE_GROUPS.filter((g) => !order.includes(g));
  const repeated = order.filter((g, i) => order.indexOf(g) !== i);
  if (unknown.length > 0 || missing.length > 0 || repeated.length > 0) {
    const parts = [
      unknown.length > 0 ? `unknown ${unknown.map((u) => JSON.stringify(u)).join(", ")}` : "",
      missing.length > 0 ? `missing ${missing.join(", ")}` : "",
      repeated.length > 0 ? `repeated ${[...new Set(repeated)].join(", ")}` : "",
    ].filter(Boolean);
    problems.push({ key: `${prefix}.waveOrder`, reason: `must list pools, gateway and config once each (${parts.join("; ")}), e.g. ["pools","gateway","config"]` });
  }

  if (problems.length > 0) throw new ConfigError(problems, { hint: "fix the keys above in stacks/Pulumi.<stack>.yaml and re-run" });

  const waves: WaveSpec[] = [];
  for (const group of order as readonly WaveGroup[]) {
    if (group === "gateway") waves.push({ name: "gateway", kind: "gateway" });
    else if (group === "config") waves.push({ name: "config", kind: "config" });
    else waves.push(...poolWaves(pools, policy.canaryPool ?? pools[0], batchSize));
  }
  return waves;
}

function poolWaves(pools: readonly string[], canary: string | undefined, batchSize: number): WaveSpec[] {
  if (canary === undefined) return [];
  const waves: WaveSpec[] = [{ name: "canary", kind: "pool", pools: [canary] }];
  const rest = pools.filter((p) => p !== canary);
  for (let i = 0; i < rest.length; i += batchSize) {
    waves.push({ name: `pools-${i / batchSize + 1}`, kind: "pool", pools: rest.slice(i, i + batchSize) });
  }
  return waves;
}

/** Kubernetes object names of the sie-cluster chart, from its fullname (`<release>-sie-cluster` or fullnameOverride). */
export interface ChartNames {
  fullname: string;
}

export interface WaveTargets {
  statefulSets: string[];
  deployments: string[];
}

/** The workloads a wave releases, named as the sie-cluster chart names them. */
export function waveTargets(wave: WaveSpec, names: ChartNames): WaveTargets {
  switch (wave.kind) {
    case "pool":
      return { statefulSets: (wave.pools ?? []).map((p) => workerStatefulSetName(names, p)), deployments: [] };
    case "gateway":
      return { statefulSets: [], deployments: [`${names.fullname}-gateway`] };
    case "config":
      return { statefulSets: [], deployments: [`${names.fullname}-config`] };
  }
}

export function workerStatefulSetName(names: ChartNames, pool: string): string {
  return `${names.fullname}-worker-${pool}`;
}

/** Everything an upgrade holds before the release update: all worker StatefulSets and both Deployments. */
export function allTargets(waves: readonly WaveSpec[], names: ChartNames): WaveTargets {
  const out: WaveTargets = { statefulSets: [], deployments: [] };
  for (const w of waves) {
    const t = waveTargets(w, names);
    out.statefulSets.push(...t.statefulSets);
    out.deployments.push(...t.deployments);
  }
  return out;
}
