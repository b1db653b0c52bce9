// The `local` platform: the same release and KEDA objects as on GKE/EKS, applied to the SIE
// simulator's Kubernetes API through a dynamic provider, so preview/up/refresh/destroy and
// stack history behave as they do against a real cluster.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { renderRelease, type KubeObject } from "./chartRender.js";
import { KubeObjects } from "./kubeObjects.js";

export interface LocalDeployArgs {
  /** Namespace of the release, e.g. "sie". */
  namespace: string;
  /** Helm release name; objects are named `<fullname>-gateway` etc. as the sie-cluster chart does. */
  releaseName: string;
  /** The chart fullname (`<release>-sie-cluster` or fullnameOverride). */
  fullname: string;
  /** Helm values exactly as they would be passed to the sie-cluster chart. */
  values: Record<string, unknown>;
  /** KEDA ScaledObject manifests (keda.sh/v1alpha1), one per enabled pool. */
  scaledObjects: Record<string, unknown>[];
  /** Pools with their node labels/taints, so the simulator can register matching fake nodes. */
  nodePools: { name: string; labels: Record<string, string>; taints: { key: string; value: string; effect: string }[]; gpuCount: number; maxNodes: number }[];
  /** Chart appVersion, used where a component's tag is empty. */
  appVersion?: string;
  /** Simulator directory; defaults to $SIE_FLEET_SIM_DIR, then <repo>/.sie-fleet/sim. */
  simDir?: string;
}

export interface LocalDeployOutputs {
  gatewayUrl: pulumi.Output<string>;
  kubeconfig: pulumi.Output<string>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function resolveSimDir(explicit?: string): string {
  const dir = explicit ?? process.env.SIE_FLEET_SIM_DIR ?? path.join(repoRoot, ".sie-fleet", "sim");
  return path.resolve(repoRoot, dir);
}

function nodeObjects(pool: LocalDeployArgs["nodePools"][number]): KubeObject[] {
  const count = Math.max(1, pool.maxNodes);
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: `${pool.name}-node-${i}`, labels: { ...pool.labels, "sie-fleet.dev/pool": pool.name } },
    spec: { taints: pool.taints },
    status: {
      capacity: pool.gpuCount > 0 ? { "nvidia.com/gpu": String(pool.gpuCount) } : {},
      allocatable: pool.gpuCount > 0 ? { "nvidia.com/gpu": String(pool.gpuCount) } : {},
    },
  }));
}

export function deployLocal(args: LocalDeployArgs): LocalDeployOutputs {
  const simDir = resolveSimDir(args.simDir);
  const endpointsFile = path.join(simDir, "endpoints.json");
  if (!fs.existsSync(endpointsFile)) {
    throw new Error(
      `platform local: the SIE simulator is not running (no ${endpointsFile}). Start it with \`sie-fleet sim start\` and run again.`,
    );
  }
  const endpoints = JSON.parse(fs.readFileSync(endpointsFile, "utf8")) as { gateway: string };

  const pools = args.nodePools.map(
    (p) => new KubeObjects("NodePool", `${p.name}-nodepool`, { simDir, objects: nodeObjects(p) }),
  );
  const namespace = new KubeObjects("Namespace", "namespace", {
    simDir,
    objects: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: args.namespace } }],
  });
  const release = new KubeObjects(
    "Release",
    "sie-release",
    {
      simDir,
      objects: renderRelease(args.values, {
        namespace: args.namespace,
        releaseName: args.releaseName,
        fullname: args.fullname,
        appVersion: args.appVersion ?? "v0.3.1",
      }),
      // Worker replica counts belong to KEDA once the release exists (helm/helm#7090 is the
      // bug this avoids: an upgrade resetting a scaled pool to minReplicas).
      preserveOnUpdate: ["spec.replicas"],
    },
    { dependsOn: [namespace, ...pools] },
  );
  for (const so of args.scaledObjects) {
    const manifest = so as KubeObject;
    new KubeObjects(
      "ScaledObject",
      manifest.metadata.name,
      { simDir, objects: [{ ...manifest, metadata: { ...manifest.metadata, namespace: args.namespace } }] },
      { dependsOn: [release] },
    );
  }
  const kubeconfigFile = path.join(simDir, "kubeconfig");
  const kubeconfig = fs.existsSync(kubeconfigFile) ? fs.readFileSync(kubeconfigFile, "utf8") : "";
  return {
    gatewayUrl: pulumi.output(endpoints.gateway),
    kubeconfig: pulumi.secret(kubeconfig),
  };
}
