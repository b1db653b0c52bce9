// The validated, defaulted and resolved stack config that the rest of infra/ consumes.
import type * as Schema from "./configSchema.js";
import type { NodeTaint, ResolvedHardware, WorkerResources } from "../hardware/gpuProfiles.js";

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

// ---- the one Prometheus a stack reads, as release/prometheusTarget.ts resolves it ----

export interface PrometheusService {
  namespace: string;
  name: string;
  port: number;
}

export interface PrometheusTarget {
  /** Which key named it. */
  source: "install" | "service" | "url" | "autoscaling.prometheusAddress";
  /** What KEDA's triggers query (from inside the cluster). */
  inClusterUrl: string;
  /**
   * The Service, when Prometheus runs in the cluster: the metric gates reach it through the API
   * server's service proxy with the stack's kubeconfig, unless rollout.gates.prometheusUrl (or
   * SIE_FLEET_PROMETHEUS_URL) names an address reachable from where sie-fleet runs.
   */
  service?: PrometheusService;
  /** An address the metric gates can query from outside the cluster (monitoring.prometheus.url or rollout.gates.prometheusUrl). */
  externalUrl?: string;
}

/** The kube-prometheus-stack release sie-fleet installs (monitoring.prometheus.install). */
export interface PrometheusInstall {
  chart: string;
  repo: string;
  version: string;
  namespace: string;
  /** Final chart values: sie-fleet's defaults, the user's values, then the keys sie-fleet owns. */
  values: Record<string, unknown>;
}

export interface MonitoringConfig {
  /** Undefined when the stack names no Prometheus (allowed only with autoscaling off). */
  prometheus?: PrometheusTarget;
  install?: PrometheusInstall;
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
