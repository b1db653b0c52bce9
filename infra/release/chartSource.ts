// Where the sie-cluster chart comes from: an OCI reference, a chart in a Helm repository, or a
// local chart directory. Pure (no @pulumi imports): validation and the automation layer use it too.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ReleaseConfig } from "../config/configSchema.js";

/**
 * In a local chart path, replaced by `release.version`: a directory of unpacked charts named by
 * version (e.g. `../shared/charts/sie-cluster-{version}`) then takes `--chart-version` like a registry.
 */
export const CHART_VERSION_PLACEHOLDER = "{version}";

/** Environment variable naming the directory relative local chart paths resolve against (default: the project directory). */
export const CHART_BASE_ENV = "SIE_FLEET_CHART_BASE";

export function isLocalChart(chart: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(chart);
}

export interface ResolvedChart {
  /** An OCI reference, a chart name in `repo`, or an absolute directory. */
  chart: string;
  version?: string;
  repo?: string;
  /** Set for local charts: the directory Helm loads. */
  localDir?: string;
}

/** The chart Helm should load for `release`, with local paths made absolute against `baseDir`. */
export function resolveChart(release: Pick<ReleaseConfig, "chart" | "version" | "repo">, baseDir: string): ResolvedChart {
  const { chart, version, repo } = release;
  if (!isLocalChart(chart)) return { chart, ...(version ? { version } : {}), ...(repo ? { repo } : {}) };
  const withVersion = version ? chart.split(CHART_VERSION_PLACEHOLDER).join(version) : chart;
  const localDir = path.resolve(baseDir, withVersion);
  return { chart: localDir, ...(version ? { version } : {}), localDir };
}

/** The base local chart paths resolve against: $SIE_FLEET_CHART_BASE, else the project directory. */
export function chartBaseDir(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[CHART_BASE_ENV] ? path.resolve(projectDir, env[CHART_BASE_ENV]) : projectDir;
}

/** Undefined when the local chart exists and its Chart.yaml agrees with `version`; otherwise what is wrong. */
export function localChartProblem(resolved: ResolvedChart): string | undefined {
  if (!resolved.localDir) return undefined;
  const file = path.join(resolved.localDir, "Chart.yaml");
  if (!fs.existsSync(file)) return `no chart at ${resolved.localDir} (no Chart.yaml there)`;
  const declared = /^version:\s*["']?([^\s"'#]+)/m.exec(fs.readFileSync(file, "utf8"))?.[1];
  if (resolved.version && declared && declared !== resolved.version) {
    return `the chart at ${resolved.localDir} is version ${declared}, not ${resolved.version}`;
  }
  return undefined;
}

/** What the `chartVersion` stack output shows: the version, or `local:<path>` for an unversioned local chart. */
export function chartVersionLabel(r: Pick<ReleaseConfig, "chart" | "version">): string {
  return r.version ?? `local:${r.chart}`;
}
