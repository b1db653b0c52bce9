/**
 * The real helm client (helm.sh/helm/v3, built by `scripts/ensure-kube-tools --provider`) for
 * tests: render the sie-cluster chart with sie-fleet's values, read a release's history.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import { REPO_ROOT } from "../../core/paths.js";
import { ensureKubernetesTools } from "../../automation/engine/kubernetesPlugin.js";
import { isLocalChart, resolveChart } from "../../infra/release/chartSource.js";
import type { ReleaseConfig } from "../../infra/config/configTypes.js";
import { WORKER_REPLICAS_POSTRENDER } from "../../infra/release/helm/postRender.js";

const run = promisify(execFile);

/** Where the real chart lives, one directory per version (../shared/charts beside the repository). */
export const SHARED_CHARTS = path.resolve(REPO_ROOT, "..", "shared", "charts");

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
}

/** Helm keeps caches and config under these; a scratch home keeps tests off the user's. */
export function helmEnv(): NodeJS.ProcessEnv {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-helm-"));
  return { ...process.env, HELM_CACHE_HOME: path.join(home, "cache"), HELM_CONFIG_HOME: path.join(home, "config"), HELM_DATA_HOME: path.join(home, "data") };
}

export async function helm(args: readonly string[]): Promise<string> {
  const { helmBin } = await ensureKubernetesTools({ onProgress: (l) => process.stderr.write(`${l}\n`) });
  try {
    const { stdout } = await run(helmBin, [...args], { env: helmEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** The local chart directory for a release config: OCI and repository charts map to the copy of that version. */
export function chartDirFor(release: Pick<ReleaseConfig, "chart" | "version" | "repo">): string {
  if (isLocalChart(release.chart)) return resolveChart(release, REPO_ROOT).chart;
  return path.join(SHARED_CHARTS, `sie-cluster-${release.version}`);
}

/** `helm template` with sie-fleet's post-renderer, parsed into objects. */
export async function renderChart(opts: { chartDir: string; releaseName: string; namespace: string; values: unknown }): Promise<KubeObject[]> {
  const valuesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-values-")), "values.json");
  fs.writeFileSync(valuesFile, JSON.stringify(opts.values));
  const out = await helm([
    "template",
    opts.releaseName,
    opts.chartDir,
    "--namespace",
    opts.namespace,
    "--values",
    valuesFile,
    "--post-renderer",
    WORKER_REPLICAS_POSTRENDER,
  ]);
  return (yaml.loadAll(out) as (KubeObject | null)[]).filter((d): d is KubeObject => d !== null && typeof d === "object");
}
