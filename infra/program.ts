// Wires a validated stack config to the platform modules and returns the stack outputs.
// index.ts calls this with loadConfig(); tests call it under setMocks with plain configs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";
import { hasWorkers, type FleetConfig, type KubernetesFleetConfig } from "./configTypes.js";
import { deployEks } from "./eks.js";
import { deployGke } from "./gke.js";
import { deployKubernetesObjects } from "./kubernetesObjects.js";
import { deployLocal } from "./local/index.js";
import { localDeployArgs } from "./localArgs.js";
import { chartVersionLabel } from "./chartSource.js";
import { deployRelease, gatewayAddress, type ReleaseDeployment } from "./release.js";
import {
  chartFullname,
  configDeploymentName,
  configTag,
  gatewayDeploymentName,
  gatewayTag,
  scaledObjectName,
  workerStatefulSetName,
} from "./releaseValues.js";

export { localDeployArgs } from "./localArgs.js";

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
  /** Helm revision of the sie-cluster release (not on platform local). */
  helmRevision?: pulumi.Output<number>;
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

function kubernetesProvider(cfg: KubernetesFleetConfig): k8s.Provider {
  const { kubeconfig, context } = cfg.cluster;
  return new k8s.Provider("kubernetes", { ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) });
}

export function deployFleet(cfg: StackConfig): FleetOutputs {
  const common = commonOutputs(cfg);
  if (cfg.platform === "local") {
    const local = deployLocal(localDeployArgs(cfg));
    return { ...common, gatewayAddress: local.gatewayUrl, kubeconfig: pulumi.secret(local.kubeconfig) };
  }

  let deployed: ReleaseDeployment;
  let kubeconfig: pulumi.Output<string>;
  if (cfg.platform === "gke") {
    const gke = deployGke(cfg);
    deployed = deployRelease(cfg, { provider: gke.provider, dependsOn: Object.values(gke.nodePools), hfToken: cfg.hfToken });
    kubeconfig = gke.kubeconfig;
  } else if (cfg.platform === "eks") {
    const eks = deployEks(cfg);
    const deps = [...Object.values(eks.nodeGroups), ...(eks.devicePlugin ? [eks.devicePlugin] : [])];
    deployed = deployRelease(cfg, { provider: eks.provider, dependsOn: deps, hfToken: cfg.hfToken });
    kubeconfig = eks.kubeconfig;
  } else if (cfg.cluster.deployWith === "objects") {
    // No Helm release, so no helmRevision; the kubeconfig output is its path, as below.
    const objects = deployKubernetesObjects(cfg);
    return { ...common, gatewayAddress: gatewayAddress(cfg), kubeconfig: pulumi.secret(objects.kubeconfigPath) };
  } else {
    deployed = deployRelease(cfg, { provider: kubernetesProvider(cfg), hfToken: cfg.hfToken });
    // An existing cluster: report where its kubeconfig lives, not its contents.
    kubeconfig = pulumi.secret(cfg.cluster.kubeconfig ?? "");
  }
  return {
    ...common,
    gatewayAddress: gatewayAddress(cfg),
    kubeconfig,
    helmRevision: deployed.release.status.apply((s) => s.revision),
  };
}
