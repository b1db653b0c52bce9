/**
 * Finds the control-plane binaries that scripts/ensure-kube-tools builds. Looking never builds
 * (a cold build takes tens of minutes), so a test can skip with the reason instead.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const KUBE_MANIFESTS = path.join(REPO_ROOT, "tools/kube/manifests");
export const KUBE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

export type KubeTools = { ok: true; root: string; bin: (name: KubeBinary) => string } | { ok: false; reason: string };

/**
 * SIE_FLEET_KUBE_TOOLS=<root> names a build directly; otherwise `ensure-kube-tools --check` says
 * whether the build for the current tools/kube sources is in the cache.
 */
export function findKubeTools(): KubeTools {
  const found = findBuild(process.env["SIE_FLEET_KUBE_TOOLS"], [], "the Kubernetes control plane");
  if (!found.ok) return found;
  for (const b of KUBE_BINARIES) {
    const file = path.join(found.root, "bin", b);
    if (!fs.existsSync(file)) return { ok: false, reason: `${file} is missing: run scripts/ensure-kube-tools` };
  }
  const dir = found.root;
  return { ok: true, root: dir, bin: (name) => path.join(dir, "bin", name) };
}

/** The KEDA operator binary from `ensure-kube-tools --keda` (or SIE_FLEET_KEDA_TOOLS=<root>). */
export function findKedaOperator(): { ok: true; bin: string } | { ok: false; reason: string } {
  const found = findBuild(process.env["SIE_FLEET_KEDA_TOOLS"], ["--keda"], "the KEDA operator");
  if (!found.ok) return found;
  const bin = path.join(found.root, "bin", "keda-operator");
  return fs.existsSync(bin) ? { ok: true, bin } : { ok: false, reason: `${bin} is missing: run scripts/ensure-kube-tools --keda` };
}

function findBuild(root: string | undefined, args: string[], what: string): { ok: true; root: string } | { ok: false; reason: string } {
  if (root) return { ok: true, root };
  const r = spawnSync(path.join(REPO_ROOT, "scripts/ensure-kube-tools"), [...args, "--check"], { encoding: "utf8" });
  if (r.error) return { ok: false, reason: `scripts/ensure-kube-tools could not run: ${r.error.message}` };
  if (r.status !== 0) {
    const why = (r.stderr || "").trim().split("\n").pop()?.replace(/^\[ensure-kube-tools\] /, "");
    return { ok: false, reason: why || `${what} is not built (scripts/ensure-kube-tools --check exited ${r.status})` };
  }
  return { ok: true, root: r.stdout.trim().split("\n").pop() ?? "" };
}
