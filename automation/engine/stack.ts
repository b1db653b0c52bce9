// Opens a stack of the sie-fleet project on the real Pulumi CLI with a local file backend.
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation/index.js";

/** The engine's own shapes that actions read (a stack's config map, one update of its history). */
export type { ConfigMap, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { CHART_BASE_ENV } from "../../infra/release/chartSource.js";
import { CLUSTER_DIR_ENV, embeddedClusterDir } from "../../infra/platforms/embeddedCluster.js";
import { ConfigError, StackError } from "../../core/errors.js";
import { assertStackName } from "../../core/stackName.js";
import { ensureKubernetesPlugin, ensureKubernetesTools } from "./kubernetesPlugin.js";
import { ensurePulumi, type EnsurePulumiOptions } from "./pulumiCli.js";
import { REPO_ROOT, stateDirFor } from "../../core/paths.js";

/** The passphrase of the `local` stack only; documented in the README. Other stacks must bring their own. */
const LOCAL_STACK_PASSPHRASE = "sie-fleet-local-demo";

export interface StackTarget {
  /** Stack name, e.g. "local" (config in <projectDir>/stacks/Pulumi.<stack>.yaml). */
  stack: string;
  /** Directory holding Pulumi.yaml; defaults to this checkout. */
  projectDir?: string;
  /** sie-fleet's state directory; defaults to <projectDir>/.sie-fleet. */
  stateDir?: string;
  /** Environment to read PULUMI_* settings from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface OpenStack {
  stack: Stack;
  name: string;
  projectDir: string;
  stateDir: string;
  /** The stack config file, e.g. stacks/Pulumi.local.yaml. */
  configFile: string;
  /** Values that must never be printed (the passphrase). */
  secrets: string[];
  /** The Pulumi backend every CLI call of this stack uses. */
  backendUrl: string;
}

export interface OpenStackOptions extends EnsurePulumiOptions {
  /** Create the stack in the backend if it does not exist yet (up, demo); read commands never do. */
  create?: boolean;
}

export function resolveTarget(t: StackTarget): Required<Omit<StackTarget, "env">> & { env: NodeJS.ProcessEnv } {
  const projectDir = path.resolve(t.projectDir ?? REPO_ROOT);
  return {
    stack: t.stack,
    projectDir,
    stateDir: path.resolve(t.stateDir ?? stateDirFor(projectDir)),
    env: t.env ?? process.env,
  };
}

function passphraseEnv(stack: string, env: NodeJS.ProcessEnv): { vars: Record<string, string>; secret?: string } {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) {
    return { vars: { PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE }, secret: env.PULUMI_CONFIG_PASSPHRASE };
  }
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { vars: { PULUMI_CONFIG_PASSPHRASE_FILE: env.PULUMI_CONFIG_PASSPHRASE_FILE } };
  if (stack === "local") return { vars: { PULUMI_CONFIG_PASSPHRASE: LOCAL_STACK_PASSPHRASE } };
  throw new ConfigError([
    {
      key: "PULUMI_CONFIG_PASSPHRASE",
      reason: `stack "${stack}" needs its secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (only the "local" stack has a built-in one)`,
    },
  ]);
}

/** Environment every Pulumi CLI call gets: file backend, no network look-ups, our plugins only. */
export function pulumiEnv(target: ReturnType<typeof resolveTarget>): { vars: Record<string, string>; secrets: string[] } {
  const { env, stateDir } = target;
  const pass = passphraseEnv(target.stack, env);
  const backend = env.PULUMI_BACKEND_URL ?? `file://${path.join(stateDir, "state")}`;
  const vars: Record<string, string> = {
    ...pass.vars,
    PULUMI_BACKEND_URL: backend,
    PULUMI_HOME: env.PULUMI_HOME ?? path.join(stateDir, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Where platform local's program finds the embedded cluster's kubeconfig.
    [CLUSTER_DIR_ENV]: embeddedClusterDir(stateDir, env),
  };
  // The program resolves relative local chart paths against it (scratch copies of the project).
  if (env[CHART_BASE_ENV]) vars[CHART_BASE_ENV] = env[CHART_BASE_ENV];
  return { vars, secrets: pass.secret ? [pass.secret] : [] };
}

export async function openStack(t: StackTarget, opts: OpenStackOptions = {}): Promise<OpenStack> {
  assertStackName(t.stack);
  const target = resolveTarget(t);
  const configFile = path.join(target.projectDir, "stacks", `Pulumi.${target.stack}.yaml`);
  if (!fs.existsSync(configFile)) {
    throw new StackError("stack-not-found", `no config for stack "${target.stack}": ${configFile} does not exist`, {
      hint: `create stacks/Pulumi.${target.stack}.yaml (see stacks/Pulumi.local.yaml), or pick one of: ${listStacks(target.projectDir).join(", ") || "(none)"}`,
    });
  }
  const { vars, secrets } = pulumiEnv(target);
  const backendUrl = vars.PULUMI_BACKEND_URL as string;
  if (backendUrl.startsWith("file://")) fs.mkdirSync(backendUrl.slice("file://".length).split("?")[0] as string, { recursive: true });
  fs.mkdirSync(vars.PULUMI_HOME as string, { recursive: true });

  // Both tools at once (each is a script that finds a cached build): every platform deploys the
  // Helm release through the Kubernetes provider.
  const [pulumiCommand] = await Promise.all([ensurePulumi(opts), ensureKubernetesTools(opts)]);
  await ensureKubernetesPlugin(pulumiCommand, vars.PULUMI_HOME as string, opts);
  const args = { stackName: target.stack, workDir: target.projectDir };
  const wsOpts = { pulumiCommand, envVars: vars, pulumiHome: vars.PULUMI_HOME };
  let stack: Stack;
  try {
    stack = opts.create ? await LocalWorkspace.createOrSelectStack(args, wsOpts) : await LocalWorkspace.selectStack(args, wsOpts);
  } catch (err) {
    const e = err as Error;
    if (e.name === "StackNotFoundError") {
      throw new StackError("stack-not-found", `stack "${target.stack}" has never been deployed (no state in ${backendUrl})`, {
        hint: `deploy it first: sie-fleet up --stack ${target.stack}`,
        cause: err,
        details: { deployed: false },
      });
    }
    throw err;
  }
  return { stack, name: target.stack, projectDir: target.projectDir, stateDir: target.stateDir, configFile, secrets, backendUrl };
}

function listStacks(projectDir: string): string[] {
  const dir = path.join(projectDir, "stacks");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
