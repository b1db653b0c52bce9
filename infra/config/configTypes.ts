// The validated, defaulted and resolved stack config that the rest of infra/ consumes.
import type * as Schema from "./configSchema.js";
import type { NodeTaint, ResolvedHardware, WorkerResources } from "../hardware/gpuProfiles.js";
import type { MonitoringConfig } from "../release/prometheusTarget.js";

// The section types are the schema's; re-exported so infra/ and automation import them from here.
export type {
  AutoscalingConfig,
  EksClusterConfig,
  GkeClusterConfig,
  KedaConfig,
  KubernetesClusterConfig,
  LocalClusterConfig,
  GkeAuthMode,
  Platform,
  PoolInput,
  ReleaseConfig,
  RolloutConfig,
} from "./configSchema.js";
export type { MonitoringConfig, PrometheusInstall, PrometheusService, PrometheusTarget } from "../release/prometheusTarget.js";

/** A pool after defaults and hardware resolution: everything node pools and Helm values need. */
export interface ResolvedPool extends Omit<Schema.PoolInput, "gpusPerWorker" | "maxReplicas" | "machineProfile" | "diskSizeGb" | "nodeSelector" | "resources"> {
  name: string;
  /** Chart `gpu.count`: 0 for cpu pools. */
  gpusPerWorker: number;
  /** Workers one node can hold (GPUs per node / GPUs per worker; 1 for cpu pools). On gke/eks validation checks their requests fit the machine too. */
  workersPerNode: number;
  maxReplicas: number;
  machineProfile: string;
  diskSizeGb: number;
  hardware: ResolvedHardware;
  /** Labels the pool's nodes carry (set by us on gke/eks/local; the configured nodeSelector on kubernetes). */
  nodeLabels: Record<string, string>;
  /** Taints the pool's nodes carry. */
  nodeTaints: NodeTaint[];
  /** What the pool's workers select on; always a subset of nodeLabels. */
  nodeSelector: Record<string, string>;
  /** Worker CPU/memory requests and limits. */
  resources: WorkerResources;
}

interface CommonConfig {
  /** Pools in config order, keyed by name. */
  pools: Record<string, ResolvedPool>;
  release: Schema.ReleaseConfig;
  autoscaling: Schema.AutoscalingConfig;
  keda: Schema.KedaConfig;
  /** The Prometheus KEDA and the metric gates read, and its install. rollout.gates.prometheusUrl is its externalUrl. */
  monitoring: MonitoringConfig;
  rollout: Schema.RolloutConfig;
  /** Whether `sie-fleet:hfToken` is set (its value is only ever handled as a Pulumi secret). */
  hasHfToken: boolean;
}

export type GkeFleetConfig = CommonConfig & { platform: "gke"; cluster: Schema.GkeClusterConfig };
export type EksFleetConfig = CommonConfig & { platform: "eks"; cluster: Schema.EksClusterConfig };
export type KubernetesFleetConfig = CommonConfig & { platform: "kubernetes"; cluster: Schema.KubernetesClusterConfig };
export type LocalFleetConfig = CommonConfig & { platform: "local"; cluster: Schema.LocalClusterConfig };

/** A stack's whole sie-fleet config, discriminated by platform. */
export type FleetConfig = GkeFleetConfig | EksFleetConfig | KubernetesFleetConfig | LocalFleetConfig;

/** Whether the pool runs SIE workers (a pool with maxReplicas 0 only provides nodes, e.g. for system pods). */
export function hasWorkers(pool: Pick<ResolvedPool, "enabled" | "maxReplicas">): boolean {
  return pool.enabled && pool.maxReplicas > 0;
}
