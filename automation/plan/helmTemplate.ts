// The sie-cluster chart rendered by Helm's own engine (the helm client built from helm.sh/helm/v3
// beside the Kubernetes provider), with sie-fleet's post-renderer: the objects a release update
// would apply, without touching the cluster.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import type { ResolvedChart } from "../../infra/release/chartSource.js";
import { WORKER_REPLICAS_POSTRENDER } from "../../infra/release/helm/postRender.js";
import { StackError } from "../../core/errors.js";
import { ensureKubernetesTools } from "../engine/kubernetesPlugin.js";

const run = promisify(execFile);

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface TemplateRequest {
  chart: ResolvedChart;
  releaseName: string;
  namespace: string;
  values: unknown;
}

export async function helmTemplate(req: TemplateRequest): Promise<RenderedObject[]> {
  const { helmBin } = await ensureKubernetesTools();
  // Values may hold a secret (the HF token placeholder aside, nothing here should): a private scratch dir.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-template-"));
  try {
    const valuesFile = path.join(dir, "values.json");
    fs.writeFileSync(valuesFile, JSON.stringify(req.values), { mode: 0o600 });
    const args = [
      "template",
      req.releaseName,
      req.chart.chart,
      "--namespace",
      req.namespace,
      "--values",
      valuesFile,
      "--post-renderer",
      WORKER_REPLICAS_POSTRENDER,
    ];
    if (!req.chart.localDir && req.chart.version) args.push("--version", req.chart.version);
    if (req.chart.repo) args.push("--repo", req.chart.repo);
    const env = {
      ...process.env,
      HELM_CACHE_HOME: path.join(dir, "cache"),
      HELM_CONFIG_HOME: path.join(dir, "config"),
      HELM_DATA_HOME: path.join(dir, "data"),
    };
    let stdout: string;
    try {
      ({ stdout } = await run(helmBin, args, { env, maxBuffer: 64 * 1024 * 1024 }));
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new StackError(
        "chart-render-failed",
        `helm template of ${req.chart.chart}${req.chart.version ? ` ${req.chart.version}` : ""} failed: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" ")}`,
        {
          hint: "check release.chart and release.version (an OCI or repository chart needs the registry to be reachable)",
        },
      );
    }
    return (yaml.loadAll(stdout) as (RenderedObject | null)[]).filter(
      (d): d is RenderedObject => d !== null && typeof d === "object" && typeof d.kind === "string",
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
