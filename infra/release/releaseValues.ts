// Pure builders for the sie-cluster chart values and names. No @pulumi imports: config validation
// uses buildManagedValues to reject user overrides of keys sie-fleet owns.
import { hasWorkers, type FleetConfig, type ResolvedPool } from "../config/configTypes.js";
import { GPU_PROFILES } from "../hardware/gpuProfiles.js";
import { modelCacheValues } from "./modelCache.js";
import { workerPlacement } from "../hardware/workerPlacement.js";

/** Pools the chart defines by default; any we do not configure are switched off explicitly. */
const CHART_DEFAULT_POOLS = ["l4", "a100-40gb", "a100-80gb", "cpu"] as const;

export type Values = Record<string, unknown>;

/**
 * The Secret the chart creates from `hfToken.value` when `hfToken.create` is set, and its key
 * (templates/hf-token-secret.yaml). Workers only get HF_TOKEN when `workers.common.hfCache`
 * names it (templates/worker-statefulset.yaml).
 */
export const HF_TOKEN_SECRET = { name: "hf-token", key: "token" } as const;

/** The chart's fullname: fullnameOverride, else `<release>-sie-cluster` (the release alone if it already contains "sie-cluster"). */
export function chartFullname(cfg: Pick<FleetConfig, "release">): string {
  const { fullnameOverride, releaseName } = cfg.release;
  const name = fullnameOverride ?? (releaseName.includes("sie-cluster") ? releaseName : `${releaseName}-sie-cluster`);
  // Helm truncates names to 63 characters and trims a trailing '-'.
  return name.slice(0, 63).replace(/-+$/, "");
}

export function workerStatefulSetName(fullname: string, pool: string): string {
  return `${fullname}-worker-${pool}`;
}

export function scaledObjectName(fullname: string, pool: string): string {
  return `${workerStatefulSetName(fullname, pool)}-scaler`;
}

export function gatewayDeploymentName(fullname: string): string {
  return `${fullname}-gateway`;
}

export function configDeploymentName(fullname: string): string {
  return `${fullname}-config`;
}

export function gatewayTag(cfg: Pick<FleetConfig, "release">): string {
  return cfg.release.gatewayTag ?? cfg.release.imageTag;
}

export function configTag(cfg: Pick<FleetConfig, "release">): string {
  return cfg.release.configTag ?? cfg.release.imageTag;
}

function poolValues(pool: ResolvedPool): Values {
  const profile = GPU_PROFILES[pool.gpu];
  const placement = workerPlacement(pool);
  return {
    enabled: hasWorkers(pool),
    minReplicas: pool.minReplicas,
    maxReplicas: pool.maxReplicas,
    machineProfile: pool.machineProfile,
    gpuType: profile.chartGpuType,
    bundle: pool.bundle,
    // CPU workers need the cpu image variant; GPU pools keep the chart's common platform (cuda12).
    ...(pool.gpu === "cpu" ? { platform: "cpu" } : {}),
    gpu: { count: pool.gpusPerWorker },
    resources: { requests: { ...pool.resources.requests }, limits: { ...pool.resources.limits } },
    nodeSelector: placement.nodeSelector,
    tolerations: placement.tolerations,
  };
}

/**
 * The values sie-fleet owns; users may add values beside them but not override them.
 * Everything here derives from config only, so changing `release.imageTag` touches the tags and
 * nothing else.
 */
export function buildManagedValues(cfg: FleetConfig): Values {
  const pools: Values = {};
  for (const name of CHART_DEFAULT_POOLS) {
    if (!(name in cfg.pools)) pools[name] = { enabled: false };
  }
  const machineProfiles: Values = {};
  for (const pool of Object.values(cfg.pools)) {
    pools[pool.name] = poolValues(pool);
    const type = pool.hardware.machineType ?? pool.hardware.instanceType;
    machineProfiles[pool.machineProfile] = {
      gpuType: GPU_PROFILES[pool.gpu].chartGpuType,
      ...(type ? { machineType: type } : {}),
      spot: pool.spot,
    };
  }
  const hfCache = cfg.hasHfToken ? { hfCache: { tokenSecret: HF_TOKEN_SECRET.name, tokenSecretKey: HF_TOKEN_SECRET.key } } : {};
  return {
    ...(cfg.release.fullnameOverride ? { fullnameOverride: cfg.release.fullnameOverride } : {}),
    gateway: { image: { tag: gatewayTag(cfg) } },
    config: { image: { tag: configTag(cfg) } },
    workers: { common: { image: { tag: cfg.release.imageTag }, ...hfCache }, pools },
    machineProfiles,
    // The chart would render its own ScaledObjects through a hook Job; Pulumi owns them instead.
    autoscaling: { enabled: false },
    keda: { install: false },
    // The Prometheus this stack installs is the operator's: the chart's ServiceMonitor tells it to
    // scrape the gateway (whose metrics KEDA's triggers read), config and workers.
    ...(cfg.monitoring.install ? { serviceMonitor: { enabled: true } } : {}),
    // The token itself is merged in by release.ts as a Pulumi secret.
    ...(cfg.hasHfToken ? { hfToken: { create: true } } : {}),
  };
}

/** Values sie-fleet chooses where the chart's default does not suit the stack; `release.values` may override them. */
export function buildDefaultValues(cfg: FleetConfig): Values {
  return modelCacheValues(cfg.platform, Object.values(cfg.pools));
}

/** Chart values for the stack: sie-fleet's defaults, the user's `release.values` over them, sie-fleet's managed values on top. */
export function buildReleaseValues(cfg: FleetConfig): Values {
  return deepMerge(deepMerge(buildDefaultValues(cfg), cfg.release.values), buildManagedValues(cfg));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merge `over` onto `base`: objects merge key by key, anything else (arrays included) replaces, like Helm. */
export function deepMerge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Paths set in both `user` and `managed` where one of them is a leaf: user values that would override ours. */
export function overlappingPaths(user: unknown, managed: unknown, path: string[] = []): string[][] {
  if (!isPlainObject(user) || !isPlainObject(managed)) return [path];
  const out: string[][] = [];
  for (const [k, v] of Object.entries(user)) {
    if (k in managed) out.push(...overlappingPaths(v, managed[k], [...path, k]));
  }
  return out;
}
