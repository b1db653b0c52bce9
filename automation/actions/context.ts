// Everything an action needs to know about one stack, read once: the opened Pulumi stack, its
// validated config, the names of what the release runs, and a Kubernetes client.
import { validateConfig } from "../../infra/config/configParse.js";
import type { FleetConfig } from "../../infra/config/configTypes.js";
import { STACK_OUTPUTS } from "../../infra/config/configKeys.js";
import { embeddedClusterDir } from "../../infra/platforms/embeddedCluster.js";
import { resolveKubeconfigPath } from "../../infra/platforms/kubeconfigPath.js";
import { serviceOfUrl } from "../../infra/release/prometheusTarget.js";
import { isDaemon, readClusterInfo, type ClusterInfo } from "../../cluster/daemonState.js";
import { ConfigError, SieFleetError, StackError } from "../../core/errors.js";
import { stackOutputValues } from "../engine/operations.js";
import { type ConfigMap, openStack, type OpenStack, type OpenStackOptions, type StackTarget } from "../engine/stack.js";
import { serviceProxyUrl } from "../kube/apiProxy.js";
import { KubeClient } from "../kube/index.js";
import { planWaves } from "../plan/waves.js";
import type { WaveSpec } from "../../core/types.js";
import { type ReleaseNames, sieService } from "../../core/workloads.js";

export interface StackContext {
  open: OpenStack;
  config: FleetConfig;
  /** The image tag the stack config asks for now. */
  imageTag: string;
  names: ReleaseNames;
  waves: WaveSpec[];
  kube: KubeClient;
  /** Values to keep out of every output (passphrase, HF token, kubeconfig). */
  secrets: string[];
  /** Gateway base URL: $SIE_FLEET_GATEWAY_URL, else its Service through the API server (kube.http fetches both). */
  gatewayUrl?: string;
  /** Config service base URL: $SIE_FLEET_CONFIG_URL, else its Service through the API server. */
  configUrl?: string;
  /**
   * Prometheus for metric gates: $SIE_FLEET_PROMETHEUS_URL, else rollout.gates.prometheusUrl (or
   * monitoring.prometheus.url), else the in-cluster Service monitoring.prometheus names, through the API server.
   */
  prometheusUrl?: string;
  /** Pool → its image pre-pull DaemonSet, for the pools that have one (found by the preflight; prepull.ts). */
  prepull?: Readonly<Record<string, string>>;
}

/** The stack was never deployed (no state, or no deployment outputs): no cluster holds anything of it yet. */
export function isNotDeployed(err: unknown): boolean {
  return err instanceof SieFleetError && err.details?.["deployed"] === false;
}

/** `pulumi config --json` values back to the objects the stack file holds. */
export function rawConfig(map: ConfigMap): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(map)) {
    const objectValue = (v as { objectValue?: unknown }).objectValue;
    if (objectValue !== undefined) raw[key] = objectValue;
    else if (typeof v.value === "string" && /^[[{]/.test(v.value.trim())) {
      try {
        raw[key] = JSON.parse(v.value);
      } catch {
        raw[key] = v.value;
      }
    } else raw[key] = v.value;
  }
  return raw;
}

export function validateStackConfig(map: ConfigMap, stack: string): FleetConfig {
  const result = validateConfig(rawConfig(map), { hfTokenIsSecret: map["sie-fleet:hfToken"]?.secret === true });
  if (!result.ok) throw new ConfigError(result.problems, { hint: `fix stacks/Pulumi.${stack}.yaml and run again` });
  return result.config;
}

function outputString(outputs: Record<string, { value: unknown }>, key: string): string | undefined {
  const v = outputs[key]?.value;
  return typeof v === "string" ? v : undefined;
}

export async function loadStackContext(target: StackTarget, opts: OpenStackOptions = {}): Promise<StackContext> {
  const open = await openStack(target, opts);
  // Read together: the masked outputs serve every platform but GKE, EKS and kubernetes without a
  // kubeconfig path in config, which read them again with the secret one.
  const [configMap, masked] = await Promise.all([open.stack.getAllConfig(), stackOutputValues(open, { showSecrets: false })]);
  const config = validateStackConfig(configMap, open.name);
  const secrets = [...open.secrets];
  for (const v of Object.values(configMap)) if (v.secret && v.value) secrets.push(v.value);

  // The kubeconfig output is the only secret one read here: GKE and EKS connect with it, platform
  // kubernetes falls back to the path it holds.
  const needsKubeconfig = config.platform === "gke" || config.platform === "eks" || (config.platform === "kubernetes" && !config.cluster.kubeconfig);
  const outputs = needsKubeconfig ? await stackOutputValues(open, { showSecrets: true }) : masked;
  const kubeconfig = outputString(outputs, STACK_OUTPUTS.kubeconfig);
  // GKE and EKS output the kubeconfig itself; local and kubernetes only its path, which a stack
  // file may hold in plain text (cluster.kubeconfig) without holding a secret.
  if (kubeconfig && (config.platform === "gke" || config.platform === "eks")) secrets.push(kubeconfig);
  const pools = (outputs[STACK_OUTPUTS.pools]?.value ?? {}) as Record<string, { statefulSet: string }>;
  const names: ReleaseNames = {
    namespace: outputString(outputs, STACK_OUTPUTS.namespace) ?? config.release.namespace,
    fullname: outputString(outputs, STACK_OUTPUTS.fullname) ?? "",
    gatewayDeployment: outputString(outputs, STACK_OUTPUTS.gatewayDeployment) ?? "",
    configDeployment: outputString(outputs, STACK_OUTPUTS.configDeployment) ?? "",
    statefulSets: Object.fromEntries(Object.entries(pools).map(([p, v]) => [p, v.statefulSet])),
  };
  // Platform kubernetes outputs the kubeconfig's path, which may be empty when it came from $KUBECONFIG.
  if ((!kubeconfig && config.platform !== "kubernetes") || !names.fullname) {
    throw new ConfigError([{ key: "stack outputs", reason: `stack "${open.name}" has no deployment outputs yet (kubeconfig, fullname)` }], {
      hint: `deploy it first: sie-fleet up --stack ${open.name}`,
      details: { deployed: false },
    });
  }
  const env = target.env ?? process.env;
  const clusterDir = embeddedClusterDir(open.stateDir, env);
  let kube: KubeClient;
  if (config.platform === "local") {
    const cluster = runningCluster(clusterDir);
    if (!cluster) {
      throw new StackError(
        "cluster-not-running",
        `stack "${open.name}" runs on the embedded cluster, which is not running (no live cluster in ${clusterDir})`,
        {
          hint: "start it with: sie-fleet cluster start",
        },
      );
    }
    kube = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  } else if (config.platform === "kubernetes") {
    // An existing cluster: its kubeconfig file (never its content) from config, else where the last
    // update read it.
    const kubeconfigPath = resolveKubeconfigPath(config.cluster.kubeconfig ?? (kubeconfig || undefined), open.projectDir, env);
    kube = KubeClient.fromKubeconfig({ kubeconfigPath, ...(config.cluster.context ? { context: config.cluster.context } : {}) });
  } else {
    kube = KubeClient.fromKubeconfig({ kubeconfig });
  }
  const waves = planWaves(Object.keys(names.statefulSets), config.rollout);
  const inCluster = sieServiceUrls(kube.server, names, config);
  const gatewayUrl = env.SIE_FLEET_GATEWAY_URL ?? inCluster.gateway;
  const configUrl = env.SIE_FLEET_CONFIG_URL ?? inCluster.config;
  // An in-cluster address (`http://<svc>.<ns>.svc…`) answers only inside the cluster: from here the
  // gates reach that Service through the API server instead.
  const gatesProm = config.rollout.gates.prometheusUrl;
  const prometheusUrl = env.SIE_FLEET_PROMETHEUS_URL ?? (gatesProm && !serviceOfUrl(gatesProm) ? gatesProm : (inCluster.prometheus ?? gatesProm));
  return {
    open,
    config,
    imageTag: config.release.imageTag,
    names,
    waves,
    kube,
    secrets,
    ...(gatewayUrl ? { gatewayUrl } : {}),
    ...(configUrl ? { configUrl } : {}),
    ...(prometheusUrl ? { prometheusUrl } : {}),
  };
}

/** The embedded cluster's daemon, if it is alive. */
function runningCluster(dir: string): ClusterInfo | undefined {
  const info = readClusterInfo(dir);
  return info && isDaemon(info.pid) ? info : undefined;
}

/**
 * Where the gates reach SIE and an in-cluster Prometheus: the API server's service proxy, with the
 * stack's own kubeconfig, on every platform.
 */
function sieServiceUrls(server: string, names: ReleaseNames, config: FleetConfig): { gateway?: string; config?: string; prometheus?: string } {
  const prometheus = config.monitoring.prometheus?.service;
  return {
    ...(names.gatewayDeployment ? { gateway: serviceProxyUrl(server, sieService(names, "gateway")) } : {}),
    ...(names.configDeployment ? { config: serviceProxyUrl(server, sieService(names, "config")) } : {}),
    ...(prometheus ? { prometheus: serviceProxyUrl(server, prometheus) } : {}),
  };
}
