// The SIE release: namespace, optional KEDA and Prometheus installs, the sie-cluster Helm release and the
// Pulumi-owned ScaledObjects. Only the Helm release's inputs depend on image tags, so a tag change
// is a one-resource update.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CHART_BASE_ENV, chartBaseDir, localChartProblem, resolveChart } from "./chartSource.js";
import { ConfigError } from "../../core/errors.js";
import { CHART_LABELS } from "../../core/workloads.js";
import { hasWorkers, type FleetConfig, type ReleaseConfig } from "../config/configTypes.js";
import { buildReleaseValues, chartFullname, deepMerge, workerStatefulSetName, type Values } from "./releaseValues.js";
import { repoChartRelease } from "./repoChart.js";
import { buildScaledObjects } from "./scaledObjects.js";
import { WORKER_REPLICAS_POSTRENDER } from "./helm/postRender.js";

export { buildReleaseValues, chartFullname } from "./releaseValues.js";
export { buildScaledObjects } from "./scaledObjects.js";
export type { ScaledObjectManifest } from "./scaledObjects.js";

const KEDA_REPO = "https://kedacore.github.io/charts";

export interface ReleaseDeployArgs {
  provider: k8s.Provider;
  /** Node pools etc. that must exist before the release (the workers need somewhere to run). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  hfToken?: pulumi.Output<string> | undefined;
  /** Where Pulumi.yaml is: relative local chart paths start here (or at $SIE_FLEET_CHART_BASE). */
  projectDir: string;
}

export interface ReleaseDeployment {
  fullname: string;
  namespace?: k8s.core.v1.Namespace;
  keda?: k8s.helm.v3.Release;
  /** kube-prometheus-stack, when monitoring.prometheus.install. */
  prometheus?: k8s.helm.v3.Release;
  release: k8s.helm.v3.Release;
  /** pool → the patch that seeds a new pool's worker count (KEDA owns it afterwards). */
  replicaSeeds: Record<string, k8s.apps.v1.StatefulSetPatch>;
  scaledObjects: Record<string, k8s.apiextensions.CustomResource>;
}

/**
 * Chart reference inputs: an OCI reference, a chart in a Helm repo, or a local directory (relative
 * paths resolve against $SIE_FLEET_CHART_BASE or the project directory; `{version}` in them is
 * replaced by release.version). A local chart that is missing is a config error naming the key.
 */
export function chartSource(r: ReleaseConfig, projectDir: string): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  const resolved = resolveChart(r, chartBaseDir(projectDir));
  const problem = localChartProblem(resolved);
  if (problem) {
    throw new ConfigError([
      {
        key: "sie-fleet:release.chart",
        reason: problem,
        hint: `point release.chart at a sie-cluster chart directory (e.g. ../shared/charts/sie-cluster-{version}) or set ${CHART_BASE_ENV} to the directory relative paths start from`,
      },
    ]);
  }
  return {
    chart: resolved.chart,
    ...(resolved.version ? { version: resolved.version } : {}),
    ...(resolved.repo ? { repositoryOpts: { repo: resolved.repo } } : {}),
  };
}

/** The gateway Service's in-cluster URL (port from values if the user changed it). */
export function gatewayAddress(cfg: FleetConfig, values: Values = buildReleaseValues(cfg)): string {
  const service = ((values.gateway as Values | undefined)?.service ?? {}) as Values;
  const port = typeof service.port === "number" ? service.port : 8080;
  return `http://${chartFullname(cfg)}-gateway.${cfg.release.namespace}.svc.cluster.local:${port}`;
}

export function deployRelease(cfg: FleetConfig, args: ReleaseDeployArgs): ReleaseDeployment {
  const { provider } = args;
  const r = cfg.release;
  const fullname = chartFullname(cfg);
  const base = args.dependsOn ?? [];

  const namespace = r.createNamespace ? new k8s.core.v1.Namespace("namespace", { metadata: { name: r.namespace } }, { provider }) : undefined;

  const keda = cfg.keda.install
    ? repoChartRelease(
        { chart: "keda", repo: KEDA_REPO, version: cfg.keda.version, namespace: cfg.keda.namespace, createNamespace: true },
        { provider, dependsOn: base },
      )
    : undefined;

  const install = cfg.monitoring.install;
  const prometheus = install
    ? repoChartRelease(
        { chart: install.chart, repo: install.repo, version: install.version, namespace: install.namespace, values: install.values, createNamespace: true },
        { provider, dependsOn: base },
      )
    : undefined;

  // The token is a nested Output so only that leaf is secret; the rest of the values stay diffable.
  const values = buildReleaseValues(cfg);
  const releaseValues: pulumi.Input<Values> = args.hfToken ? deepMerge(values, { hfToken: { create: true, value: args.hfToken } }) : values;

  const release = new k8s.helm.v3.Release(
    "sie-cluster",
    {
      name: r.releaseName,
      namespace: r.namespace,
      ...chartSource(r, args.projectDir),
      values: releaseValues,
      timeout: r.timeoutSeconds,
      // Reverts are sie-fleet's job (health-gated, recorded); Helm must not roll back on its own.
      atomic: false,
      // Rollouts are gated wave by wave after the apply (workers held by partitions, gateway and
      // config paused): Helm waiting for readiness here would wait on the holds.
      skipAwait: true,
      postrender: WORKER_REPLICAS_POSTRENDER,
      maxHistory: 20,
    },
    // After Prometheus: its operator's CRDs define the chart's ServiceMonitor.
    { provider, dependsOn: [...base, ...(namespace ? [namespace] : []), ...(prometheus ? [prometheus] : [])] },
  );

  // Helm no longer sets worker replicas (see WORKER_REPLICAS_POSTRENDER), so a new StatefulSet
  // starts at Kubernetes' default of 1. This sets it to the pool's minReplicas once; it changes
  // again only when minReplicas does, never on an upgrade.
  const replicaSeeds: Record<string, k8s.apps.v1.StatefulSetPatch> = {};
  for (const pool of Object.values(cfg.pools)) {
    if (!hasWorkers(pool)) continue;
    replicaSeeds[pool.name] = new k8s.apps.v1.StatefulSetPatch(
      `${pool.name}-replicas`,
      {
        metadata: {
          name: workerStatefulSetName(fullname, pool.name),
          namespace: r.namespace,
          // KEDA's HPA becomes the owner of spec.replicas when it scales; a changed minReplicas
          // takes it back.
          // Readiness is the waves' business; a pool whose nodes are missing must not block the update.
          annotations: { "pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true" },
        },
        spec: { replicas: pool.minReplicas },
      },
      // A pool is only ever dropped with its StatefulSet, which Helm deletes; the patch has
      // nothing left to hand back (and Kubernetes would refuse to strip fields it co-owns).
      { provider, dependsOn: [release], retainOnDelete: true },
    );
  }

  const scaledObjects: Record<string, k8s.apiextensions.CustomResource> = {};
  for (const so of buildScaledObjects(cfg, fullname)) {
    const pool = so.metadata.labels[CHART_LABELS.pool]!;
    scaledObjects[pool] = new k8s.apiextensions.CustomResource(
      `${pool}-scaledobject`,
      { apiVersion: so.apiVersion, kind: so.kind, metadata: so.metadata, spec: so.spec },
      // After the release (its StatefulSet is the target) and KEDA (its CRD).
      { provider, dependsOn: [release, ...(keda ? [keda] : [])] },
    );
  }

  return {
    fullname,
    ...(namespace ? { namespace } : {}),
    ...(keda ? { keda } : {}),
    ...(prometheus ? { prometheus } : {}),
    release,
    replicaSeeds,
    scaledObjects,
  };
}
