// Platform kubernetes with `cluster.deployWith: objects`: the sie-cluster chart's objects, rendered
// by infra/local/chartRender.ts from the same Helm values as the helm path, plus the KEDA
// ScaledObjects, applied to the cluster a kubeconfig names through sie-fleet's own dynamic provider
// (infra/local/kubeProvider.ts). No Pulumi Kubernetes provider plugin and no Helm are needed.
// The cluster's nodes are not managed: pools select existing nodes with `nodeSelector`.
import type * as pulumi from "@pulumi/pulumi";
import type { KubernetesFleetConfig } from "./configTypes.js";
import { resolveKubeconfigPath } from "./kubeconfigPath.js";
import { renderRelease, type KubeObject } from "./local/chartRender.js";
import { KubeObjects, type KubeTarget } from "./local/kubeObjects.js";
import { buildReleaseValues, chartFullname } from "./releaseValues.js";
import { buildScaledObjects } from "./scaledObjects.js";

/** The chart's appVersion, used where a component's tag is empty (the values always set one). */
const APP_VERSION = "v0.3.1";

export interface ObjectsDeployment {
  /** Absolute path of the kubeconfig the objects were applied with. */
  kubeconfigPath: string;
  release: KubeObjects;
  scaledObjects: Record<string, KubeObjects>;
}

export function deployKubernetesObjects(cfg: KubernetesFleetConfig, projectDir: string = process.cwd()): ObjectsDeployment {
  const kubeconfigPath = resolveKubeconfigPath(cfg.cluster.kubeconfig, projectDir);
  const target: KubeTarget = { kubeconfig: kubeconfigPath, ...(cfg.cluster.context ? { context: cfg.cluster.context } : {}) };
  const r = cfg.release;
  const fullname = chartFullname(cfg);

  const namespace = r.createNamespace
    ? new KubeObjects("Namespace", "namespace", {
        ...target,
        objects: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: r.namespace } }],
      })
    : undefined;
  const release = new KubeObjects(
    "Release",
    "sie-release",
    {
      ...target,
      objects: renderRelease(buildReleaseValues(cfg), { namespace: r.namespace, releaseName: r.releaseName, fullname, appVersion: APP_VERSION }),
      // Worker replica counts belong to KEDA once the release exists (helm/helm#7090 is the bug
      // this avoids: an upgrade resetting a scaled pool to minReplicas).
      preserveOnUpdate: ["spec.replicas"],
    },
    namespace ? { dependsOn: [namespace] } : {},
  );
  const scaledObjects: Record<string, KubeObjects> = {};
  for (const so of buildScaledObjects(cfg, fullname)) {
    const pool = so.metadata.labels["sie.superlinked.com/pool"]!;
    const manifest = { ...so } as unknown as KubeObject;
    scaledObjects[pool] = new KubeObjects("ScaledObject", so.metadata.name, { ...target, objects: [manifest] }, { dependsOn: [release] } satisfies pulumi.CustomResourceOptions);
  }
  return { kubeconfigPath, release, scaledObjects };
}
