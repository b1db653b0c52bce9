// The SIE release: namespace, optional KEDA install, the sie-cluster Helm release and the
// Pulumi-owned ScaledObjects. Only the Helm release's inputs depend on image tags, so a tag change
// is a one-resource update.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { FleetConfig, ReleaseConfig } from "./configTypes.js";
import { buildReleaseValues, chartFullname, deepMerge, type Values } from "./releaseValues.js";
import { buildScaledObjects } from "./scaledObjects.js";

export { buildReleaseValues, chartFullname } from "./releaseValues.js";
export { buildScaledObjects } from "./scaledObjects.js";
export type { ScaledObjectManifest } from "./scaledObjects.js";

const KEDA_REPO = "https://kedacore.github.io/charts";

export interface ReleaseDeployArgs {
  provider: k8s.Provider;
  /** Node pools etc. that must exist before the release (the workers need somewhere to run). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  hfToken?: pulumi.Output<string> | undefined;
}

export interface ReleaseDeployment {
  fullname: string;
  namespace?: k8s.core.v1.Namespace;
  keda?: k8s.helm.v3.Release;
  release: k8s.helm.v3.Release;
  scaledObjects: Record<string, k8s.apiextensions.CustomResource>;
}

/** Chart reference inputs: an OCI reference, a chart in a Helm repo, or a local directory. */
function chartSource(r: ReleaseConfig): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  return {
    chart: r.chart,
    ...(r.version ? { version: r.version } : {}),
    ...(r.repo ? { repositoryOpts: { repo: r.repo } } : {}),
  };
}

/** What the `chartVersion` output shows: the version, or the local chart path. */
export function chartVersionLabel(r: ReleaseConfig): string {
  return r.version ?? `local:${r.chart}`;
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

  const namespace = r.createNamespace
    ? new k8s.core.v1.Namespace("namespace", { metadata: { name: r.namespace } }, { provider })
    : undefined;

  const keda = cfg.keda.install
    ? new k8s.helm.v3.Release(
        "keda",
        {
          name: "keda",
          chart: "keda",
          repositoryOpts: { repo: KEDA_REPO },
          version: cfg.keda.version,
          namespace: cfg.keda.namespace,
          createNamespace: true,
        },
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
      ...chartSource(r),
      values: releaseValues,
      timeout: r.timeoutSeconds,
      // Reverts are sie-fleet's job (health-gated, recorded); Helm must not roll back on its own.
      atomic: false,
      maxHistory: 20,
    },
    { provider, dependsOn: [...base, ...(namespace ? [namespace] : [])] },
  );

  const scaledObjects: Record<string, k8s.apiextensions.CustomResource> = {};
  for (const so of buildScaledObjects(cfg, fullname)) {
    const pool = so.metadata.labels["sie.superlinked.com/pool"]!;
    scaledObjects[pool] = new k8s.apiextensions.CustomResource(
      `${pool}-scaledobject`,
      { apiVersion: so.apiVersion, kind: so.kind, metadata: so.metadata, spec: so.spec },
      // After the release (its StatefulSet is the target) and KEDA (its CRD).
      { provider, dependsOn: [release, ...(keda ? [keda] : [])] },
    );
  }

  return { fullname, ...(namespace ? { namespace } : {}), ...(keda ? { keda } : {}), release, scaledObjects };
}
