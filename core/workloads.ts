// The workloads of a release, named as the stack outputs name them: one StatefulSet per worker
// pool, the gateway and config Deployments. A wave rolls some of them; holds, the final
// verification, status and `up` cover them all.
import type { WaveSpec } from "./types.js";

/**
 * Labels the sie-cluster chart puts on its workloads and their pods (templates/worker-*.yaml and
 * the gateway and config templates); sie-fleet's own ScaledObjects carry `pool` too. Not to be
 * confused with the node label sie-fleet puts on the nodes it provisions (NODE_POOL_LABEL in
 * infra/hardware/gpuProfiles.ts), which the workers' nodeSelector points at.
 */
export const CHART_LABELS = {
  component: "app.kubernetes.io/component",
  pool: "sie.superlinked.com/pool",
  gpuType: "sie.superlinked.com/gpu-type",
  machineProfile: "sie.superlinked.com/machine-profile",
  bundle: "sie.superlinked.com/bundle",
} as const;

export interface ReleaseNames {
  namespace: string;
  fullname: string;
  gatewayDeployment: string;
  configDeployment: string;
  /** pool → StatefulSet, for pools that run workers. */
  statefulSets: Record<string, string>;
}

/**
 * The chart's Service for the gateway or config service (`<fullname>-<component>`, port name
 * `http`), which the gates reach through the API server.
 */
export function sieService(
  names: Pick<ReleaseNames, "namespace" | "fullname">,
  component: "gateway" | "config",
): { namespace: string; name: string; port: string } {
  return { namespace: names.namespace, name: `${names.fullname}-${component}`, port: "http" };
}

/**
 * The chart's image pre-pull DaemonSet of a pool (templates/worker-image-prepull.yaml, on while
 * `workers.common.imagePrepull.enabled`): it pulls the pool's worker image onto every node the
 * pool's workers may land on, and rolls with the release because nothing holds it.
 */
export function imagePrepullDaemonSet(names: Pick<ReleaseNames, "fullname">, pool: string): string {
  return `${names.fullname}-image-prepull-${pool}`;
}

export interface Workload {
  kind: "StatefulSet" | "Deployment";
  name: string;
  component: "worker" | "gateway" | "config";
  /** The worker pool (StatefulSets only). */
  pool?: string;
}

/** The workloads `wave` rolls (its pools in the wave's order, or one Deployment); without a wave, the whole release. */
export function releaseWorkloads(names: ReleaseNames, wave?: WaveSpec): Workload[] {
  const worker = (pool: string): Workload[] => {
    const name = names.statefulSets[pool];
    return name ? [{ kind: "StatefulSet", name, component: "worker", pool }] : [];
  };
  const gateway: Workload = { kind: "Deployment", name: names.gatewayDeployment, component: "gateway" };
  const config: Workload = { kind: "Deployment", name: names.configDeployment, component: "config" };
  let list: Workload[];
  if (!wave) list = [...Object.keys(names.statefulSets).flatMap(worker), gateway, config];
  else if (wave.kind === "pool") list = (wave.pools ?? []).flatMap(worker);
  else list = [wave.kind === "gateway" ? gateway : config];
  return list.filter((w) => w.name !== "");
}

/** Workloads as hold/release targets: StatefulSets get partitions, Deployments pause. */
export function holdTargets(workloads: readonly Workload[]): { statefulSets: string[]; deployments: string[] } {
  return {
    statefulSets: workloads.filter((w) => w.kind === "StatefulSet").map((w) => w.name),
    deployments: workloads.filter((w) => w.kind === "Deployment").map((w) => w.name),
  };
}
