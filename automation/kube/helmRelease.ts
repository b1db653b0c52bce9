// Helm's own record of a release and the real helm client's rollback, for a release that a killed
// `pulumi up` left ahead of what the Pulumi state records (see recover.ts).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { StackError } from "../../core/errors.js";
import type { KubeApi } from "./api.js";

const run = promisify(execFile);

export interface HelmRevision {
  version: number;
  /** deployed, superseded, failed, pending-install, pending-upgrade, pending-rollback, … */
  status: string;
}

/** The release's revisions, newest first, from the labels of the Secrets Helm 3 stores them in. */
export async function helmRevisions(api: KubeApi, namespace: string, release: string): Promise<HelmRevision[]> {
  const metas = await api.listSecretMetadata(namespace, `owner=helm,name=${release}`);
  return metas
    .map((m) => ({ version: Number(m.labels?.["version"]), status: m.labels?.["status"] ?? "unknown" }))
    .filter((r) => Number.isInteger(r.version))
    .sort((a, b) => b.version - a.version);
}

/**
 * `helm rollback <release> <revision>`: re-applies that revision's stored (already post-rendered)
 * manifest as a new revision. Unlike an upgrade it is allowed while a revision is pending. The
 * client reads a temporary copy of the API client's kubeconfig, removed afterwards.
 */
export async function helmRollback(api: KubeApi, helmBin: string, namespace: string, release: string, revision: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-helm-"));
  try {
    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(kubeconfig, api.config.exportConfig(), { mode: 0o600 });
    // --history-max 0: keep every revision; the next Pulumi update prunes to the release's maxHistory.
    await run(helmBin, ["rollback", release, String(revision), "--namespace", namespace, "--kubeconfig", kubeconfig, "--history-max", "0"], {
      env: { ...process.env, HELM_CACHE_HOME: path.join(dir, "cache"), HELM_CONFIG_HOME: path.join(dir, "config"), HELM_DATA_HOME: path.join(dir, "data") },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new StackError("helm-rollback-failed", `helm rollback ${release} ${revision} in ${namespace} failed: ${(e.stderr || e.message).trim()}`, {
      hint: `look at \`helm history ${release} --namespace ${namespace}\`, then run sie-fleet recover again`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
