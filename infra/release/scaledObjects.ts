// Pure builder for the KEDA ScaledObjects sie-fleet owns (one per enabled pool). They mirror what
// the sie-cluster chart renders into its hook Job, but as first-class Pulumi resources so that
// Helm upgrades and uninstalls do not leave them behind and their diffs show up in previews.
import { CHART_LABELS } from "../../core/workloads.js";
import { hasWorkers, type FleetConfig, type ResolvedPool } from "../config/configTypes.js";
import { fallbackFor, type KedaFallback } from "./fallbackReplicas.js";
import { scaledObjectName, workerStatefulSetName } from "./releaseValues.js";

const SCALED_OBJECT_API_VERSION = "keda.sh/v1alpha1";

/** Rejections that are transient while a model loads; they must not trigger scale-up. */
const IGNORED_REJECT_REASONS = "resource_exhausted|upstream_model_loading|upstream_timeout_model_loading|upstream_lora_loading";

export interface ScaledObjectManifest {
  apiVersion: typeof SCALED_OBJECT_API_VERSION;
  kind: "ScaledObject";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1"; kind: "StatefulSet"; name: string };
    pollingInterval: number;
    cooldownPeriod: number;
    minReplicaCount: number;
    maxReplicaCount: number;
    /** Absent where KEDA may not honour fallback.behavior (infra/release/fallbackReplicas.ts). */
    fallback?: KedaFallback;
    advanced: { horizontalPodAutoscalerConfig: { behavior: Record<string, unknown> } };
    triggers: { type: "prometheus"; name: string; metricType: "AverageValue"; metadata: Record<string, string> }[];
  };
}

function promTrigger(name: string, serverAddress: string, query: string, threshold: number, activation: number) {
  return {
    type: "prometheus" as const,
    name,
    // KEDA's default, written out: KEDA 2.17.0's webhook accepts a fallback only when a trigger
    // names AverageValue explicitly (later releases read an empty metricType as it).
    metricType: "AverageValue" as const,
    metadata: { serverAddress, query, threshold: String(threshold), activationThreshold: String(activation) },
  };
}

function triggers(cfg: FleetConfig, pool: ResolvedPool, serverAddress: string) {
  const a = cfg.autoscaling;
  // The release's namespace too: one Prometheus scrapes every release of the cluster (the
  // `namespace` target label, which the prometheus check also reads), and another release's
  // queue must not scale this one's workers.
  const sel = `namespace="${cfg.release.namespace}",machine_profile="${pool.machineProfile}",bundle="${pool.bundle}"`;
  // `or vector(0)`: an empty result (no traffic yet) must read as 0, not as a scaler error.
  return [
    promTrigger("pending-demand", serverAddress, `sum(sie_gateway_pending_demand{${sel}}) or vector(0)`, 1, 0),
    promTrigger("queue-depth", serverAddress, `sum(sie_gateway_worker_queue_depth{${sel}}) or vector(0)`, a.queueDepthThreshold, a.queueDepthActivation),
    promTrigger("active-leases", serverAddress, `sum(sie_gateway_active_lease_gpus{${sel}}) or vector(0)`, 1, 0),
    promTrigger(
      "rejections",
      serverAddress,
      `sum(rate(sie_gateway_rejected_requests_total{${sel},reason!~"${IGNORED_REJECT_REASONS}"}[2m])) or vector(0)`,
      1,
      0,
    ),
  ];
}

function behavior(cfg: FleetConfig): Record<string, unknown> {
  return {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      policies: [
        { type: "Percent", value: 100, periodSeconds: 15 },
        { type: "Pods", value: 4, periodSeconds: 15 },
      ],
      selectPolicy: "Max",
    },
    scaleDown: {
      stabilizationWindowSeconds: cfg.autoscaling.scaleDownStabilization,
      policies: [
        { type: "Percent", value: 25, periodSeconds: 60 },
        { type: "Pods", value: 1, periodSeconds: 60 },
      ],
      selectPolicy: "Max",
    },
  };
}

/** One ScaledObject per pool with workers, or none when autoscaling is off. */
export function buildScaledObjects(cfg: FleetConfig, fullname: string): ScaledObjectManifest[] {
  if (!cfg.autoscaling.enabled) return [];
  // Config validation refuses autoscaling without a Prometheus (infra/release/prometheusTarget.ts).
  const serverAddress = cfg.monitoring.prometheus!.inClusterUrl;
  return Object.values(cfg.pools)
    .filter(hasWorkers)
    .map((pool) => {
      const fallback = fallbackFor(cfg, pool);
      return {
        apiVersion: SCALED_OBJECT_API_VERSION,
        kind: "ScaledObject",
        metadata: {
          name: scaledObjectName(fullname, pool.name),
          namespace: cfg.release.namespace,
          labels: {
            "app.kubernetes.io/managed-by": "sie-fleet",
            "app.kubernetes.io/part-of": "sie",
            [CHART_LABELS.pool]: pool.name,
          },
        },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: workerStatefulSetName(fullname, pool.name) },
          pollingInterval: cfg.autoscaling.pollingInterval,
          cooldownPeriod: cfg.autoscaling.cooldownPeriod,
          minReplicaCount: pool.minReplicas,
          maxReplicaCount: pool.maxReplicas,
          ...(fallback ? { fallback } : {}),
          advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(cfg) } },
          triggers: triggers(cfg, pool, serverAddress),
        },
      };
    });
}
