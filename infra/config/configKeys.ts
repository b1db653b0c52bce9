// Stack-config key names shared by the Pulumi program and the automation layer; free of @pulumi
// imports, like every infra file automation imports.

/** Config namespace: every key is `sie-fleet:<section>`. */
export const CONFIG_NAMESPACE = "sie-fleet";

/** One top-level key per section; each holds a structured YAML object (except platform/hfToken). */
export const CONFIG_SECTIONS = ["platform", "cluster", "pools", "release", "hfToken", "autoscaling", "keda", "monitoring", "rollout"] as const;

export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/**
 * Paths for `pulumi config set --path <key> <value>` (and Automation API `setConfig(key, {path: true})`).
 * Changing only these between two updates must change only the Helm release.
 */
export const IMAGE_TAG_PATHS = {
  /** Worker, and gateway/config unless they have their own tag. */
  imageTag: `${CONFIG_NAMESPACE}:release.imageTag`,
  gatewayTag: `${CONFIG_NAMESPACE}:release.gatewayTag`,
  configTag: `${CONFIG_NAMESPACE}:release.configTag`,
} as const;

/** Path of the chart version, for chart upgrades (`pulumi config set --path`). */
export const CHART_VERSION_PATH = `${CONFIG_NAMESPACE}:release.version`;

/** Stack output names the program exports (see infra/index.ts). */
export const STACK_OUTPUTS = {
  platform: "platform",
  imageTag: "imageTag",
  gatewayTag: "gatewayTag",
  configTag: "configTag",
  chartVersion: "chartVersion",
  namespace: "namespace",
  releaseName: "releaseName",
  fullname: "fullname",
  pools: "pools",
  gatewayDeployment: "gatewayDeployment",
  configDeployment: "configDeployment",
  gatewayAddress: "gatewayAddress",
  kubeconfig: "kubeconfig",
} as const;

/** Valid OCI tag: what `release.imageTag` (and the rollout version lists) must look like. */
export const OCI_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
