/**
 * The binaries scripts/ensure-kube-tools builds from Go modules: the control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok), KEDA (operator, metrics API server),
 * Karpenter's kwok provider (the node autoscaler), and
 * the Pulumi Kubernetes provider with a helm client. `find*` only looks (a cold build takes tens
 * of minutes, so a test can skip with the reason instead); `ensure*` builds when needed.
 * Builds are cached under SIE_FLEET_TOOLS_DIR (the script's default: <repo>/.sie-fleet/tools).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../core/paths.js";
import { checkEnsureScript, runEnsureScript, type EnsureToolOptions, type FoundTool } from "../core/ensureTool.js";
import { StackError } from "../core/errors.js";
import { yamlFiles } from "./apply.js";

// The provider and helm client: built by the same script, found by the engine, which installs the
// plugin into its PULUMI_HOME.

const BUILD_HINT = "install Go 1.26+ and run scripts/ensure-kube-tools (see docs/kube-tools.md)";
export const KUBE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

export interface KubeToolsBuild {
  root: string;
  bin: (name: KubeBinary) => string;
}
export type KubeTools = ({ ok: true } & KubeToolsBuild) | { ok: false; reason: string };

/**
 * SIE_FLEET_KUBE_TOOLS=<root> names a build directly; otherwise `ensure-kube-tools --check` says
 * whether the build for the current tools/kube sources is in the cache.
 */
export function findKubeTools(): KubeTools {
  const found = findBuild(process.env["SIE_FLEET_KUBE_TOOLS"], [], "the Kubernetes control plane");
  return found.ok ? checkKubeBuild(found.root) : found;
}

/** Finds the control plane's build, building it first if needed (scripts/ensure-kube-tools). */
export async function ensureKubeTools(opts: EnsureToolOptions = {}): Promise<KubeToolsBuild> {
  const root = process.env["SIE_FLEET_KUBE_TOOLS"] || (await runEnsureScript("ensure-kube-tools", [], "the Kubernetes control plane", BUILD_HINT, opts));
  const tools = checkKubeBuild(root);
  if (!tools.ok) throw new StackError("tool-missing", tools.reason, { hint: BUILD_HINT });
  return tools;
}

/** What `ensure-kube-tools --keda` builds: the operator, the metrics API server and the release's install manifests. */
export interface KedaBuild {
  root: string;
  /** e.g. `v2.21.0`, from tools/kube/keda/go.mod. */
  version: string;
  operator: string;
  adapter: string;
  /** The release's config/default objects (without CRDs and webhooks), file names in apply order. */
  installFiles: string[];
}

/** The KEDA build for the current sources (or SIE_FLEET_KEDA_TOOLS=<root>), or why there is none. */
export function findKeda(): ({ ok: true } & KedaBuild) | { ok: false; reason: string } {
  const found = findBuild(process.env["SIE_FLEET_KEDA_TOOLS"], ["--keda"], "KEDA");
  if (!found.ok) return found;
  const [operator, adapter] = ["keda-operator", "keda-adapter"].map((b) => path.join(found.root, "bin", b)) as [string, string];
  const installDir = path.join(found.root, "install");
  for (const f of [operator, adapter, installDir]) {
    if (!fs.existsSync(f)) return { ok: false, reason: `${f} is missing: run scripts/ensure-kube-tools --keda` };
  }
  const version = moduleVersion("tools/kube/keda/go.mod", "github.com/kedacore/keda/v2");
  return { ok: true, root: found.root, version, operator, adapter, installFiles: yamlFiles(installDir) };
}

/** KEDA's build, building it first if needed (a cold build takes about as long as the control plane's); returns its root. */
export async function ensureKeda(opts: EnsureToolOptions = {}): Promise<string> {
  const root = process.env["SIE_FLEET_KEDA_TOOLS"] || (await runEnsureScript("ensure-kube-tools", ["--keda"], "KEDA", BUILD_HINT, opts));
  const found = findKeda();
  if (!found.ok) throw new StackError("tool-missing", found.reason, { hint: BUILD_HINT });
  return root;
}

/** What `ensure-kube-tools --karpenter` builds: Karpenter's kwok provider, its CRDs and its chart's service account and RBAC. */
export interface KarpenterBuild {
  root: string;
  /** e.g. `v1.14.1`, from tools/kube/karpenter/go.mod. */
  version: string;
  bin: string;
  crdFiles: string[];
  /** Namespace, service account and RBAC, in apply order. */
  installFiles: string[];
}

/** The Karpenter build for the current sources (or SIE_FLEET_KARPENTER_TOOLS=<root>), or why there is none. */
export function findKarpenter(): ({ ok: true } & KarpenterBuild) | { ok: false; reason: string } {
  const found = findBuild(process.env["SIE_FLEET_KARPENTER_TOOLS"], ["--karpenter"], "Karpenter");
  if (!found.ok) return found;
  const bin = path.join(found.root, "bin", "karpenter-kwok");
  const [crdDir, installDir] = ["crds", "install"].map((d) => path.join(found.root, d)) as [string, string];
  for (const f of [bin, crdDir, installDir]) {
    if (!fs.existsSync(f)) return { ok: false, reason: `${f} is missing: run scripts/ensure-kube-tools --karpenter` };
  }
  const version = moduleVersion("tools/kube/karpenter/go.mod", "sigs.k8s.io/karpenter");
  return { ok: true, root: found.root, version, bin, crdFiles: yamlFiles(crdDir), installFiles: yamlFiles(installDir) };
}

/** Karpenter's build, building it first if needed; returns it. */
export async function ensureKarpenter(opts: EnsureToolOptions = {}): Promise<KarpenterBuild> {
  if (!process.env["SIE_FLEET_KARPENTER_TOOLS"]) await runEnsureScript("ensure-kube-tools", ["--karpenter"], "Karpenter", BUILD_HINT, opts);
  const found = findKarpenter();
  if (!found.ok) throw new StackError("tool-missing", found.reason, { hint: BUILD_HINT });
  return found;
}

/** kubectl of the control plane's Kubernetes release (`ensure-kube-tools --kubectl`, or SIE_FLEET_KUBECTL_TOOLS=<root>), if built. */
export function findKubectl(): { ok: true; bin: string } | { ok: false; reason: string } {
  const found = findBuild(process.env["SIE_FLEET_KUBECTL_TOOLS"], ["--kubectl"], "kubectl");
  if (!found.ok) return found;
  const bin = path.join(found.root, "bin", "kubectl");
  return fs.existsSync(bin) ? { ok: true, bin } : { ok: false, reason: `${bin} is missing: run scripts/ensure-kube-tools --kubectl` };
}

/** kubectl, building it first if needed (about two minutes once the control plane is built: they share Go's build cache). */
export async function ensureKubectl(opts: EnsureToolOptions = {}): Promise<string> {
  const root = process.env["SIE_FLEET_KUBECTL_TOOLS"] || (await runEnsureScript("ensure-kube-tools", ["--kubectl"], "kubectl", BUILD_HINT, opts));
  const bin = path.join(root, "bin", "kubectl");
  if (!fs.existsSync(bin)) throw new StackError("tool-missing", `${bin} is missing after the build`, { hint: BUILD_HINT });
  return bin;
}

/** Versions of what the control-plane build runs, from tools/kube/go.mod (the build's stamp covers it). */
export function kubeToolVersions(): { kubernetes: string; etcd: string; kwok: string } {
  const of = (module: string): string => moduleVersion("tools/kube/go.mod", module);
  return { kubernetes: of("k8s.io/kubernetes"), etcd: of("go.etcd.io/etcd/server/v3"), kwok: of("sigs.k8s.io/kwok") };
}

/** The version a go.mod of this repository (path relative to its root) requires of `module`. */
function moduleVersion(goMod: string, module: string): string {
  const mod = fs.readFileSync(path.join(REPO_ROOT, goMod), "utf8");
  return new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[./]/g, "\\$&")}\\s+(\\S+)`, "m").exec(mod)?.[1] ?? "unknown";
}

function checkKubeBuild(root: string): KubeTools {
  for (const b of KUBE_BINARIES) {
    const file = path.join(root, "bin", b);
    if (!fs.existsSync(file)) return { ok: false, reason: `${file} is missing: run scripts/ensure-kube-tools` };
  }
  return { ok: true, root, bin: (name) => path.join(root, "bin", name) };
}

function findBuild(root: string | undefined, args: string[], what: string): FoundTool {
  return root ? { ok: true, root } : checkEnsureScript("ensure-kube-tools", args, what);
}

/**
 * kwok's own CRD manifests for `kinds` (e.g. `logs`, `portforwards`), from the kwok module the
 * control plane was built from (the Go module cache scripts/ensure-kube-tools filled), or why
 * they cannot be found. The build keeps only KEDA's CRDs beside the binaries.
 */
export function kwokCrdFiles(kinds: readonly string[]): { ok: true; files: string[] } | { ok: false; reason: string } {
  const version = kubeToolVersions().kwok;
  let modCache = process.env["GOMODCACHE"];
  if (!modCache) {
    const r = spawnSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" });
    if (r.error || r.status !== 0) return { ok: false, reason: `go env GOMODCACHE failed (${r.error?.message ?? r.stderr.trim()}): Go finds kwok's CRDs` };
    modCache = r.stdout.trim();
  }
  const dir = path.join(modCache, "sigs.k8s.io", `kwok@${version}`, "kustomize", "crd", "bases");
  const files = kinds.map((k) => path.join(dir, `kwok.x-k8s.io_${k}.yaml`));
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length > 0)
    return {
      ok: false,
      reason: `kwok ${version}'s CRDs are not in the Go module cache (${missing.join(", ")}): run (cd tools/kube && go mod download sigs.k8s.io/kwok)`,
    };
  return { ok: true, files };
}
