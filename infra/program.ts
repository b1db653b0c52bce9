// Wires a validated stack config to the platform modules and returns the stack outputs.
// index.ts calls this with loadConfig(); tests call it under setMocks with plain configs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../core/errors.js";
import type { StackConfig } from "./config/config.js";
import { hasWorkers, type FleetConfig, type KubernetesFleetConfig } from "./config/configTypes.js";
import { deployEks } from "./platforms/eks.js";
import { deployGke } from "./platforms/gke.js";
import { CLUSTER_DIR_ENV, embeddedClusterDir, embeddedKubeconfigPath } from "./platforms/embeddedCluster.js";
import { resolveKubeconfigPath } from "./platforms/kubeconfigPath.js";
import { chartVersionLabel } from "./release/chartSource.js";
import { deployRelease, gatewayAddress, type ReleaseDeployment } from "./release/release.js";
import {
  chartFullname,
  configDeploymentName,
  configTag,
  gatewayDeploymentName,
  gatewayTag,
  scaledObjectName,
  workerStatefulSetName,
} from "./release/releaseValues.js";

export interface PoolOutput {
  statefulSet: string;
  /** null when autoscaling is off. */
  scaledObject: string | null;
}

export interface FleetOutputs {
  platform: FleetConfig["platform"];
  imageTag: string;
  gatewayTag: string;
  configTag: string;
  chartVersion: string;
  namespace: string;
  releaseName: string;
  fullname: string;
  pools: Record<string, PoolOutput>;
  gatewayDeployment: string;
  configDeployment: string;
  gatewayAddress: pulumi.Input<string>;
  /** Secret. */
  kubeconfig: pulumi.Output<string>;
  /** Helm revision of the sie-cluster release. */
  helmRevision: pulumi.Output<number>;
}

/** Names and tags every platform reports the same way. */
function commonOutputs(cfg: FleetConfig): Omit<FleetOutputs, "gatewayAddress" | "kubeconfig" | "helmRevision"> {
  const fullname = chartFullname(cfg);
  const pools: Record<string, PoolOutput> = {};
  for (const pool of Object.values(cfg.pools)) {
    if (!hasWorkers(pool)) continue;
    pools[pool.name] = {
      statefulSet: workerStatefulSetName(fullname, pool.name),
      scaledObject: cfg.autoscaling.enabled ? scaledObjectName(fullname, pool.name) : null,
    };
  }
  return {
    platform: cfg.platform,
    imageTag: cfg.release.imageTag,
    gatewayTag: gatewayTag(cfg),
    configTag: configTag(cfg),
    chartVersion: chartVersionLabel(cfg.release),
    namespace: cfg.release.namespace,
    releaseName: cfg.release.releaseName,
    fullname,
    pools,
    gatewayDeployment: gatewayDeploymentName(fullname),
    configDeployment: configDeploymentName(fullname),
  };
}

/**
 * The directory of Pulumi.yaml, which relative paths in stack config are relative to. Not the
 * working directory: the program runs in `main` (infra/), the provider plugin somewhere else.
 */
export function projectDir(): string {
  return pulumi.runtime.getRootDirectory() || process.cwd();
}

/** The kubeconfig file as configured, made absolute for the provider plugin. */
function configuredKubeconfig(cfg: KubernetesFleetConfig): string | undefined {
  return cfg.cluster.kubeconfig ? resolveKubeconfigPath(cfg.cluster.kubeconfig, projectDir()) : undefined;
}

function kubernetesProvider(cfg: KubernetesFleetConfig): k8s.Provider {
  const kubeconfig = configuredKubeconfig(cfg);
  const { context } = cfg.cluster;
  return new k8s.Provider("kubernetes", { ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) });
}

/**
 * The embedded control plane's admin kubeconfig ($SIE_FLEET_CLUSTER_DIR, which sie-fleet sets, else
 * `.sie-fleet/cluster` in the project for a plain `pulumi up`). A path, so the state never holds
 * the keys and a restarted cluster (same CA, same port) is the same cluster to the provider.
 */
function embeddedKubeconfig(): string {
  const file = embeddedKubeconfigPath(embeddedClusterDir(path.join(projectDir(), ".sie-fleet")));
  if (!fs.existsSync(file)) {
    throw new ConfigError([
      {
        key: "sie-fleet:platform",
        reason: `platform local runs on the embedded cluster, but there is none at ${path.dirname(file)} (no kubeconfig)`,
        hint: `start it with \`sie-fleet cluster start\`, or set ${CLUSTER_DIR_ENV} to its directory`,
      },
    ]);
  }
  return file;
}

export function deployFleet(cfg: StackConfig): FleetOutputs {
  const common = commonOutputs(cfg);
  let deployed: ReleaseDeployment;
  let kubeconfig: pulumi.Output<string>;
  if (cfg.platform === "gke") {
    const gke = deployGke(cfg);
    deployed = deployRelease(cfg, { provider: gke.provider, dependsOn: Object.values(gke.nodePools), hfToken: cfg.hfToken, projectDir: projectDir() });
    kubeconfig = gke.kubeconfig;
  } else if (cfg.platform === "eks") {
    const eks = deployEks(cfg);
    const deps = [...Object.values(eks.nodeGroups), ...Object.values(eks.karpenter?.nodePools ?? {}), ...(eks.devicePlugin ? [eks.devicePlugin] : [])];
    deployed = deployRelease(cfg, { provider: eks.provider, dependsOn: deps, hfToken: cfg.hfToken, projectDir: projectDir() });
    kubeconfig = eks.kubeconfig;
  } else if (cfg.platform === "local") {
    const file = embeddedKubeconfig();
    deployed = deployRelease(cfg, { provider: new k8s.Provider("kubernetes", { kubeconfig: file }), hfToken: cfg.hfToken, projectDir: projectDir() });
    kubeconfig = pulumi.secret(file);
  } else {
    deployed = deployRelease(cfg, { provider: kubernetesProvider(cfg), hfToken: cfg.hfToken, projectDir: projectDir() });
    // An existing cluster: report where its kubeconfig lives, not its contents.
    kubeconfig = pulumi.secret(configuredKubeconfig(cfg) ?? "");
  }
  return {
    ...common,
    gatewayAddress: gatewayAddress(cfg),
    kubeconfig,
    helmRevision: deployed.release.status.apply((s) => s.revision),
  };
}
