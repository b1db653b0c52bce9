// Pulumi program entry (Pulumi.yaml `main: infra/`). Stack outputs are the named exports below.
import { loadConfig } from "./config/config.js";
import { deployFleet } from "./program.js";

const out = deployFleet(loadConfig());

export const platform = out.platform;
export const imageTag = out.imageTag;
export const gatewayTag = out.gatewayTag;
export const configTag = out.configTag;
export const chartVersion = out.chartVersion;
export const namespace = out.namespace;
export const releaseName = out.releaseName;
export const fullname = out.fullname;
/** {[pool]: {statefulSet, scaledObject}} for pools that run workers. */
export const pools = out.pools;
export const gatewayDeployment = out.gatewayDeployment;
export const configDeployment = out.configDeployment;
export const gatewayAddress = out.gatewayAddress;
export const kubeconfig = out.kubeconfig;
export const helmRevision = out.helmRevision;
