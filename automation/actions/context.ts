// Everything an action needs to know about one stack, read once: the opened Pulumi stack, its
// validated config, the names of what the release runs, and a Kubernetes client.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation/index.js";
import { validateConfig } from "../../infra/configParse.js";
import type { FleetConfig } from "../../infra/configTypes.js";
import { STACK_OUTPUTS } from "../../infra/configKeys.js";
import { resolveKubeconfigPath } from "../../infra/kubeconfigPath.js";
import { ConfigError, StackError } from "../errors.js";
import { openStack, type OpenStack, type OpenStackOptions, type StackTarget } from "../engine/stack.js";
import { KubeClient } from "../kube/index.js";
import { isProcessAlive } from "../lock.js";
import { planWaves } from "../waves.js";
import type { WaveSpec } from "../types.js";
import type { ReleaseNames } from "../workloads.js";

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
  /** Gateway base URL reachable from here ($SIE_FLEET_GATEWAY_URL, or the local simulator's). */
  gatewayUrl?: string;
  /** Config service base URL ($SIE_FLEET_CONFIG_URL, or the local simulator's). */
  configUrl?: string;
  /** Prometheus for metric gates ($SIE_FLEET_PROMETHEUS_URL, else rollout.gates.prometheusUrl). */
  prometheusUrl?: string;
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
  const configMap = await open.stack.getAllConfig();
  const config = validateStackConfig(configMap, open.name);
  const secrets = [...open.secrets];
  for (const v of Object.values(configMap)) if (v.secret && v.value) secrets.push(v.value);

  const outputs = await open.stack.outputs();
  const kubeconfig = outputString(outputs, STACK_OUTPUTS.kubeconfig);
  if (kubeconfig) secrets.push(kubeconfig);
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
    });
  }
  // The local simulator may have restarted on new ports since the last update: its current
  // endpoints file and kubeconfig win over the stack outputs.
  const env = target.env ?? process.env;
  const simDir = env.SIE_FLEET_SIM_DIR ?? path.join(open.stateDir, "sim");
  let sim: { gateway: string; config: string } | undefined;
  let kube: KubeClient;
  if (config.platform === "local") {
    const local = currentSim(simDir);
    sim = local;
    kube = KubeClient.fromKubeconfig({ kubeconfigPath: local.kubeconfigPath });
  } else if (config.platform === "kubernetes") {
    // An existing cluster: its kubeconfig file (never its content) from config, else where the last
    // update read it; the SIE endpoints from a mirror simulator (`sim start --kubeconfig`) if one runs.
    const kubeconfigPath = resolveKubeconfigPath(config.cluster.kubeconfig ?? (kubeconfig || undefined), open.projectDir, env);
    kube = KubeClient.fromKubeconfig({ kubeconfigPath, ...(config.cluster.context ? { context: config.cluster.context } : {}) });
    sim = mirrorSim(simDir);
  } else {
    kube = KubeClient.fromKubeconfig({ kubeconfig });
  }
  const waves = planWaves(Object.keys(names.statefulSets), config.rollout);
  const gatewayUrl = env.SIE_FLEET_GATEWAY_URL ?? sim?.gateway;
  const configUrl = env.SIE_FLEET_CONFIG_URL ?? sim?.config;
  const prometheusUrl = env.SIE_FLEET_PROMETHEUS_URL ?? config.rollout.gates.prometheusUrl;
  return {
    open, config, imageTag: config.release.imageTag, names, waves, kube, secrets,
    ...(gatewayUrl ? { gatewayUrl } : {}),
    ...(configUrl ? { configUrl } : {}),
    ...(prometheusUrl ? { prometheusUrl } : {}),
  };
}

function currentSim(simDir: string): { gateway: string; config: string; kubeconfigPath: string } {
  const file = path.join(simDir, "endpoints.json");
  if (!fs.existsSync(file)) {
    throw new StackError("sim-not-running", `the local SIE simulator is not running (no ${file})`, { hint: "start it with: sie-fleet sim start" });
  }
  const endpoints = JSON.parse(fs.readFileSync(file, "utf8")) as { gateway: string; config: string };
  return { gateway: endpoints.gateway, config: endpoints.config, kubeconfigPath: path.join(simDir, "kubeconfig") };
}

/** The endpoints of a simulator running in `simDir` (mirror mode for platform kubernetes), if any. */
function mirrorSim(simDir: string): { gateway: string; config: string } | undefined {
  try {
    const ep = JSON.parse(fs.readFileSync(path.join(simDir, "endpoints.json"), "utf8")) as { pid: number; gateway: string; config: string };
    return isProcessAlive(ep.pid) ? { gateway: ep.gateway, config: ep.config } : undefined;
  } catch {
    return undefined;
  }
}
