// The Pulumi Kubernetes provider plugin: built from Go modules by `scripts/ensure-kube-tools
// --provider` (no plugin download is possible here) and installed into the PULUMI_HOME the engine
// uses, under the version the @pulumi/kubernetes SDK asks for.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { StackError } from "../../core/errors.js";
import { checkEnsureScript, runEnsureScript, type EnsureToolOptions, type FoundTool } from "../../core/ensureTool.js";
import { REPO_ROOT } from "../../core/paths.js";

const run = promisify(execFile);

/** The plugin version the SDK requests: its package.json `pulumi.version`. */
function kubernetesPluginVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")) as {
    pulumi?: { version?: string };
    version: string;
  };
  return pkg.pulumi?.version ?? pkg.version;
}

export interface KubernetesTools {
  /** The build's root: bin/pulumi-resource-kubernetes and bin/helm. */
  root: string;
  providerBin: string;
  helmBin: string;
  version: string;
}

let built: Promise<KubernetesTools> | undefined;

/** Builds (once per machine, cached in SIE_FLEET_TOOLS_DIR) or finds the provider and the helm client. */
export function ensureKubernetesTools(opts: EnsureToolOptions = {}): Promise<KubernetesTools> {
  built ??= runEnsureScript(
    "ensure-kube-tools",
    ["--provider"],
    "the Pulumi Kubernetes provider",
    "install Go 1.26+ so scripts/ensure-kube-tools --provider can build it",
    opts,
  ).then((root) => ({
    root,
    providerBin: path.join(root, "bin", "pulumi-resource-kubernetes"),
    helmBin: path.join(root, "bin", "helm"),
    version: kubernetesPluginVersion(),
  }));
  built.catch(() => (built = undefined));
  return built;
}

/** The provider and helm build that ensureKubernetesTools would use, if it is cached (builds nothing). */
export function findKubernetesTools(): FoundTool {
  return checkEnsureScript("ensure-kube-tools", ["--provider"], "the Pulumi Kubernetes provider and helm");
}

const SOURCE_STAMP = ".sie-fleet-source";

/**
 * Installs the provider into `pulumiHome` with `pulumi plugin install --file`, unless that exact
 * build is installed already (a stamp next to it names the build it came from).
 */
export async function ensureKubernetesPlugin(pulumi: PulumiCommand, pulumiHome: string, opts: EnsureToolOptions = {}): Promise<KubernetesTools> {
  const tools = await ensureKubernetesTools(opts);
  const dir = path.join(pulumiHome, "plugins", `resource-kubernetes-v${tools.version}`);
  const stamp = path.join(dir, SOURCE_STAMP);
  if (fs.existsSync(path.join(dir, "pulumi-resource-kubernetes")) && readStamp(stamp) === tools.root) return tools;
  try {
    await run(pulumi.command, ["plugin", "install", "resource", "kubernetes", tools.version, "--file", tools.providerBin, "--reinstall"], {
      env: { ...process.env, PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new StackError("tool-missing", `could not install the Kubernetes provider plugin into ${pulumiHome}: ${(e.stderr || e.message).trim()}`, {
      hint: `run: pulumi plugin install resource kubernetes ${tools.version} --file ${tools.providerBin}`,
    });
  }
  fs.writeFileSync(stamp, tools.root);
  return tools;
}

function readStamp(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
