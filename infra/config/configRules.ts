// Rules that span fields or sections, and pool resolution (defaults + hardware). Each rule reports
// through `report` and keeps going, so one run lists every problem.
import { isLocalChart } from "../release/chartSource.js";
import type { IssuePath, Report } from "./configReport.js";
import type { FleetConfig, ResolvedPool } from "./configTypes.js";
import type { EksClusterConfig, GkeClusterConfig, Platform, PoolInput, ReleaseConfig, RolloutConfig } from "./configSchema.js";
import { GPU_PROFILES, NODE_POOL_LABEL, isGpuKind, nodeLabels, nodeTaints, resolveHardware, type HardwareTarget } from "../hardware/gpuProfiles.js";
import { checkWorkerFit } from "./poolFit.js";
import { buildManagedValues, chartFullname, overlappingPaths, workerStatefulSetName } from "../release/releaseValues.js";

const POOL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const POOL_NAME_MAX = 20;
/** StatefulSet pods get a `controller-revision-hash` label of `<name>-<10 chars>`; labels stop at 63. */
const STATEFULSET_NAME_MAX = 52;
const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;

function hardwareTarget(platform: Platform): HardwareTarget {
  return platform === "gke" || platform === "eks" ? platform : "generic";
}

/** Pool names become node pool, StatefulSet and label values: lowercase DNS labels, unique ignoring case. */
export function checkPoolNames(names: string[], report: Report): void {
  if (names.length === 0) {
    report(["pools"], "no pools defined", "add at least one pool, e.g. `l4: {gpu: l4, maxNodes: 2}` under sie-fleet:pools");
  }
  const seen = new Map<string, string>();
  for (const name of names) {
    if (!POOL_NAME.test(name) || name.length > POOL_NAME_MAX) {
      report(
        ["pools", name],
        `pool name "${name}" is invalid`,
        `use at most ${POOL_NAME_MAX} lowercase letters, digits and '-' (it becomes part of node pool and StatefulSet names)`,
      );
    }
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      report(["pools", name], `duplicate pool name: "${name}" and "${first}" differ only in case`, "rename or remove one of them");
    } else {
      seen.set(key, name);
    }
  }
}

type ClusterFor = GkeClusterConfig | EksClusterConfig | Record<string, unknown> | undefined;

/** Applies defaults, resolves hardware and checks one pool's fields against each other and the platform. */
export function resolvePool(name: string, p: PoolInput, platform: Platform, cluster: ClusterFor, report: Report): ResolvedPool | undefined {
  const at = (field: string): IssuePath => ["pools", name, field];
  let bad = false;
  const fail: Report = (path, message, hint) => {
    bad = true;
    report(path, message, hint);
  };

  const hw = resolveHardware(hardwareTarget(platform), p);
  if (!hw.ok) fail(at(hw.problem.field), hw.problem.message);
  const gpu = isGpuKind(p.gpu);
  const gpusPerNode = hw.ok ? hw.value.gpusPerNode : (p.gpusPerNode ?? 1);

  let gpusPerWorker = gpu ? (p.gpusPerWorker ?? 1) : 0;
  if (!gpu && p.gpusPerWorker !== undefined) {
    fail(at("gpusPerWorker"), "a cpu pool has no GPUs", "remove gpusPerWorker or pick a GPU kind");
  } else if (gpu && gpusPerWorker > gpusPerNode) {
    fail(at("gpusPerWorker"), `a worker needs ${gpusPerWorker} GPUs but a node has ${gpusPerNode}`, "lower gpusPerWorker or raise gpusPerNode");
    gpusPerWorker = gpusPerNode;
  }
  const workersPerNode = gpu ? Math.max(1, Math.floor(gpusPerNode / Math.max(1, gpusPerWorker))) : 1;

  if (p.minNodes > p.maxNodes) {
    fail(at("maxNodes"), `maxNodes (${p.maxNodes}) is below minNodes (${p.minNodes})`, "raise maxNodes or lower minNodes");
  }
  const capacity = p.maxNodes * workersPerNode;
  const maxReplicas = p.maxReplicas ?? capacity;
  if (p.minReplicas > maxReplicas) {
    fail(at("maxReplicas"), `maxReplicas (${maxReplicas}) is below minReplicas (${p.minReplicas})`, "raise maxReplicas or lower minReplicas");
  }
  // On platform kubernetes the nodes are not ours, so their capacity is unknown.
  if (platform !== "kubernetes" && maxReplicas > capacity) {
    fail(
      at("maxReplicas"),
      `maxReplicas (${maxReplicas}) exceeds what the node pool can hold: maxNodes ${p.maxNodes} × ${workersPerNode} worker(s) per node = ${capacity}`,
      "raise maxNodes or lower maxReplicas",
    );
  }

  if (p.zones !== undefined) {
    if (platform !== "gke")
      fail(
        at("zones"),
        `zones is only used on platform gke (this stack is ${platform})`,
        platform === "eks" ? "use subnetIds to place an EKS node group" : "remove zones",
      );
    else {
      const region = (cluster as GkeClusterConfig | undefined)?.region;
      if (region !== undefined && GCP_REGION.test(region)) {
        for (const [i, zone] of p.zones.entries()) {
          if (!zone.startsWith(`${region}-`))
            fail(["pools", name, "zones", i], `zone ${zone} is not in the cluster region ${region}`, `use zones like ${region}-a`);
        }
      }
    }
  }
  if (p.subnetIds !== undefined && platform !== "eks")
    fail(at("subnetIds"), `subnetIds is only used on platform eks (this stack is ${platform})`, "remove subnetIds");
  if (p.nodeSelector !== undefined && platform !== "kubernetes") {
    fail(
      at("nodeSelector"),
      `sie-fleet labels the nodes it creates on platform ${platform}; nodeSelector is only for platform kubernetes`,
      "remove nodeSelector",
    );
  }
  const profile = GPU_PROFILES[p.gpu];
  const resources = {
    requests: { ...profile.workerResources.requests, ...p.resources?.requests },
    limits: { ...profile.workerResources.limits, ...p.resources?.limits },
  };
  // On gke and eks the nodes are ours, so their size is known: the workers must fit them.
  const cloud = platform === "gke" || platform === "eks" ? platform : undefined;
  if (cloud && hw.ok && p.enabled && maxReplicas > 0) {
    const fit = checkWorkerFit(
      {
        pool: name,
        gpu: p.gpu,
        cloud,
        type: (hw.value.machineType ?? hw.value.instanceType)!,
        gpusPerNode,
        gpusPerWorker: Math.max(1, gpusPerWorker),
        workersByGpu: workersPerNode,
        requests: resources.requests,
        limits: resources.limits,
        configuredLimits: p.resources?.limits ?? {},
      },
      fail,
    );
    if (fit) resources.limits = fit.limits;
  }
  if (bad || !hw.ok) return undefined;

  const { gpusPerWorker: _w, maxReplicas: _m, machineProfile: _mp, diskSizeGb: _d, nodeSelector: configuredSelector, resources: _r, ...rest } = p;
  // Platform kubernetes: the user's nodes, found by the configured selector. Local: the embedded
  // cluster's shared fake nodes (cluster/nodes.ts), found by their GPU kind whatever the pool is named.
  const labels = platform === "kubernetes" ? { ...(configuredSelector ?? {}) } : platform === "local" ? { ...profile.labels } : nodeLabels(name, p.gpu);
  return {
    ...rest,
    name,
    gpusPerWorker,
    workersPerNode,
    maxReplicas,
    machineProfile: p.machineProfile ?? profile.machineProfile,
    diskSizeGb: p.diskSizeGb ?? profile.defaultDiskSizeGb,
    hardware: hw.value,
    nodeLabels: labels,
    nodeTaints: nodeTaints(p.gpu),
    nodeSelector: platform === "kubernetes" || platform === "local" ? { ...labels } : { [NODE_POOL_LABEL]: name },
    resources,
  };
}

/** Rules over the set of pools: shared machine profiles must agree; a new cluster needs an untainted pool. */
export function checkPoolSet(pools: ResolvedPool[], platform: Platform, cluster: ClusterFor, report: Report): void {
  const byProfile = new Map<string, ResolvedPool>();
  for (const pool of pools) {
    const first = byProfile.get(pool.machineProfile);
    if (!first) {
      byProfile.set(pool.machineProfile, pool);
      continue;
    }
    const type = (p: ResolvedPool) => p.hardware.machineType ?? p.hardware.instanceType ?? "";
    if (first.gpu !== pool.gpu || first.spot !== pool.spot || type(first) !== type(pool)) {
      report(
        ["pools", pool.name, "machineProfile"],
        `pools "${first.name}" and "${pool.name}" share machineProfile "${pool.machineProfile}" but differ in gpu, machine type or spot`,
        `give "${pool.name}" its own machineProfile, e.g. ${pool.machineProfile}-${pool.spot ? "spot" : "ondemand"}`,
      );
    }
  }
  const creates = (platform === "gke" || platform === "eks") && (cluster as { create?: boolean } | undefined)?.create === true;
  if (creates && !pools.some((p) => p.enabled && p.nodeTaints.length === 0)) {
    report(
      ["pools"],
      "a new cluster needs a pool without the GPU taint for the gateway, config service and kube-system pods",
      platform === "eks"
        ? "add a pool such as `system: {gpu: cpu, minNodes: 2, maxNodes: 2, maxReplicas: 0}` (a fixed node group: Karpenter adds only worker and GPU nodes)"
        : "add a pool such as `system: {gpu: cpu, minNodes: 1, maxNodes: 3, maxReplicas: 0}`",
    );
  }
}

export function checkCluster(platform: Platform, cluster: ClusterFor, report: Report): void {
  if (platform === "eks") {
    const eks = cluster as EksClusterConfig;
    if (eks.create && eks.roleArn === undefined) {
      report(
        ["cluster", "roleArn"],
        "is required when cluster.create is true (the EKS cluster's IAM role)",
        "pulumi config set --path sie-fleet:cluster.roleArn arn:aws:iam::<account>:role/<name>",
      );
    }
  }
}

/** OCI charts and repo charts need a version; anything else must be a local chart directory. */
export function checkChart(release: ReleaseConfig, report: Report): void {
  const { chart, repo, version } = release;
  const isLocalPath = isLocalChart(chart);
  if (chart.startsWith("oci://") || repo !== undefined) {
    if (repo !== undefined && (chart.includes("/") || chart.includes(":"))) {
      report(
        ["release", "chart"],
        `with release.repo set, chart must be a chart name such as sie-cluster (got ${chart})`,
        "remove release.repo to use an OCI or local chart",
      );
    }
    if (version === undefined) {
      report(["release", "version"], "is required for an OCI or repository chart", "pulumi config set --path sie-fleet:release.version 0.3.1");
    }
  } else if (!isLocalPath) {
    report(
      ["release", "chart"],
      `"${chart}" is neither an oci:// reference, a chart in release.repo, nor a local path (./…, ../…, /…)`,
      "use oci://ghcr.io/superlinked/charts/sie-cluster with release.version, or set release.repo",
    );
  }
}

export function checkNames(release: ReleaseConfig, poolNames: string[], report: Report): void {
  const fullname = chartFullname({ release });
  for (const pool of poolNames) {
    const sts = workerStatefulSetName(fullname, pool);
    if (sts.length > STATEFULSET_NAME_MAX) {
      report(
        ["pools", pool],
        `StatefulSet name "${sts}" is longer than ${STATEFULSET_NAME_MAX} characters`,
        "shorten the pool name, release.releaseName or release.fullnameOverride",
      );
    }
  }
}

/**
 * The rollout policy against the pools: the canary and every waveOrder entry name a pool that runs
 * workers (waves only roll those), each listed once. `pools` maps every configured pool name to
 * whether it runs workers (when known). The wave planner (automation/plan/waves.ts) relies on this.
 */
export function checkRollout(rollout: RolloutConfig, pools: Record<string, { workers: boolean }>, report: Report): void {
  const names = Object.keys(pools);
  const list = names.join(", ") || "(none)";
  const noWorkers = (name: string) => `pool "${name}" runs no workers (disabled or maxReplicas 0)`;
  if (rollout.canaryPool !== undefined) {
    const canary = pools[rollout.canaryPool];
    if (!canary) report(["rollout", "canaryPool"], `"${rollout.canaryPool}" is not a pool`, `use one of: ${list}`);
    else if (!canary.workers) report(["rollout", "canaryPool"], noWorkers(rollout.canaryPool), "enable it or pick another canary pool");
  }
  const seen = new Set<string>();
  for (const [i, name] of rollout.waveOrder.entries()) {
    const pool = pools[name];
    if (!pool) report(["rollout", "waveOrder", i], `"${name}" is not a pool`, `use pools from: ${list}`);
    else if (!pool.workers) report(["rollout", "waveOrder", i], noWorkers(name), "enable it or remove it from waveOrder");
    if (seen.has(name)) report(["rollout", "waveOrder", i], `"${name}" is listed twice`, "list each pool once");
    seen.add(name);
  }
}

const MANAGED_HINTS: [RegExp, string][] = [
  [/^workers\.common\.image\.tag$/, "set sie-fleet:release.imageTag instead"],
  [/^gateway\.image\.tag$/, "set sie-fleet:release.gatewayTag instead"],
  [/^config\.image\.tag$/, "set sie-fleet:release.configTag instead"],
  [/^workers\.pools\.([^.]+)/, "configure the pool under sie-fleet:pools instead"],
  [/^(autoscaling|keda)\b/, "sie-fleet owns the ScaledObjects; use sie-fleet:autoscaling / sie-fleet:keda"],
  [/^fullnameOverride$/, "set sie-fleet:release.fullnameOverride instead"],
  [/^(hfToken|workers\.common\.hfCache\.tokenSecret)/, "the token comes from the secret sie-fleet:hfToken"],
  [/^serviceMonitor\.enabled$/, "sie-fleet:monitoring.prometheus.install turns on the chart's ServiceMonitor"],
  [/^machineProfiles\b/, "machine profiles follow sie-fleet:pools (gpu, machine type, spot)"],
];

/** `release.values` may add chart values but not override the ones sie-fleet computes. */
export function checkValuesOverlap(cfg: FleetConfig, report: Report): void {
  const managed = buildManagedValues(cfg);
  for (const path of overlappingPaths(cfg.release.values, managed)) {
    const dotted = path.join(".");
    const hint = MANAGED_HINTS.find(([re]) => re.test(dotted))?.[1] ?? "remove it from sie-fleet:release.values";
    report(["release", "values", ...path], "is managed by sie-fleet and cannot be overridden", hint);
  }
}
