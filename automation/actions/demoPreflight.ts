// What `sie-fleet demo` needs but cannot build, checked before it builds anything: a cold build of
// the tools takes about 30 minutes, and without this the chart was first looked at by `pulumi up`
// after it. Three checks: the chart the local stack installs (resolved exactly as the Pulumi
// program resolves it), Go new enough for the tools not built yet, and room for their builds.
// Every problem is reported at once in one DemoPreflightError (exit 2); nothing is built or changed.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import * as semver from "semver";
import { findKeda, findKubeTools } from "../../cluster/tools.js";
import { CHART_BASE_ENV, chartBaseDir, localChartProblem, resolveChart, type ResolvedChart } from "../../infra/release/chartSource.js";
import { validateConfig } from "../../infra/config/configParse.js";
import { TOOLS_DIR_ENV, toolsDir, type FoundTool } from "../../core/ensureTool.js";
import { findKubernetesTools } from "../engine/kubernetesPlugin.js";
import { REPO_ROOT } from "../../core/paths.js";
import { findPulumi } from "../engine/pulumiCli.js";
import { DemoPreflightError, type DemoProblem } from "../../core/errors.js";

/** The stack the demo deploys, from the checkout's stacks/ (copied into its scratch project). */
export const DEMO_STACK = "local";

/** A tool the demo builds from Go modules unless it is cached; `goMod`'s `go` line is the Go it needs. */
export interface DemoTool {
  what: string;
  /** Relative to the checkout. */
  goMod: string;
  find: () => FoundTool;
  /** Another way to get it than a build, if any. */
  instead?: string;
}

export const DEMO_TOOLS: readonly DemoTool[] = [
  {
    what: "the Pulumi CLI",
    goMod: "tools/pulumi/go.mod",
    find: findPulumi,
    instead: "or, instead of building the Pulumi CLI, put a pulumi at or above tools/pulumi/VERSION on PATH",
  },
  { what: "the Pulumi Kubernetes provider and helm", goMod: "tools/kubernetes/go.mod", find: findKubernetesTools },
  { what: "the Kubernetes control plane", goMod: "tools/kube/go.mod", find: findKubeTools },
  { what: "KEDA (operator and metrics API server)", goMod: "tools/kube/keda/go.mod", find: findKeda },
];

/**
 * Free space a build needs. Measured with every tool built (Kubernetes v1.36.3, provider 4.25.0,
 * Pulumi v3.259.0): the builds take 0.7 GB in the tools directory (control plane 349 MB, provider
 * and helm 218 MB, Pulumi 126 MB); Go's build cache held 8.7 GB and its module cache 2.7 GB, much
 * of the build cache from earlier builds of other versions, so one cold build is asked for about
 * half of it. Below these a build would likely fill the disk halfway through.
 */
export const TOOLS_DIR_FLOOR_BYTES = 1e9;
export const GO_BUILD_CACHE_FLOOR_BYTES = 5e9;
export const GO_MOD_CACHE_FLOOR_BYTES = 2e9;

export interface GoInfo {
  /** `go env GOVERSION`, e.g. go1.26.8. */
  version: string;
  cache: string;
  modCache: string;
}

export interface DiskInfo {
  free: number;
  /** Identifies the filesystem, so directories on one disk add up what they need. */
  device: number;
}

export interface DemoPreflightOptions {
  env?: NodeJS.ProcessEnv;
  /** The checkout whose stacks/ the demo copies; relative chart paths start here unless SIE_FLEET_CHART_BASE says otherwise. */
  repoRoot?: string;
  tools?: readonly DemoTool[];
  /** Go on PATH, or undefined when there is none. */
  go?: (env: NodeJS.ProcessEnv) => GoInfo | undefined;
  disk?: (dir: string) => DiskInfo;
}

export interface DemoPreflightResult {
  /** Where relative chart paths start: what the demo passes on as SIE_FLEET_CHART_BASE. */
  chartBase: string;
  chart: ResolvedChart;
  /** Tools the demo will build (each `what`). */
  toBuild: string[];
}

/** Checks everything the demo cannot build; throws one DemoPreflightError naming every problem. */
export function demoPreflight(opts: DemoPreflightOptions = {}): DemoPreflightResult {
  const env = opts.env ?? process.env;
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const problems: DemoProblem[] = [];
  const chart = checkChart(repoRoot, env, problems);

  const missing = (opts.tools ?? DEMO_TOOLS).filter((t) => !t.find().ok);
  if (missing.length > 0) {
    const go = (opts.go ?? goOnPath)(env);
    checkGo(go, missing, repoRoot, problems);
    checkDisk(go, missing, env, opts.disk ?? diskOf, problems);
  }
  if (problems.length > 0 || !chart) throw new DemoPreflightError(problems);
  return { ...chart, toBuild: missing.map((t) => t.what) };
}

function checkChart(repoRoot: string, env: NodeJS.ProcessEnv, problems: DemoProblem[]): Omit<DemoPreflightResult, "toBuild"> | undefined {
  const file = path.join("stacks", `Pulumi.${DEMO_STACK}.yaml`);
  const fix = `restore ${file} from git (git checkout -- ${file})`;
  let raw: Record<string, unknown>;
  try {
    const doc = yaml.load(fs.readFileSync(path.join(repoRoot, file), "utf8")) as { config?: Record<string, unknown> } | undefined;
    raw = doc?.config ?? {};
  } catch (err) {
    problems.push({ check: "chart", reason: `cannot read ${path.join(repoRoot, file)}: ${(err as Error).message}`, fix });
    return undefined;
  }
  const parsed = validateConfig(raw);
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.push({ check: "chart", reason: `${file}: ${p.key}: ${p.reason}`, fix: p.hint ?? `fix ${file}` });
    return undefined;
  }
  const release = parsed.config.release;
  const chartBase = chartBaseDir(repoRoot, env);
  const resolved = resolveChart(release, chartBase);
  const problem = localChartProblem(resolved);
  if (problem && resolved.localDir) {
    const relative = path.relative(chartBase, resolved.localDir);
    const base = env[CHART_BASE_ENV] ? `${CHART_BASE_ENV}=${env[CHART_BASE_ENV]} (${chartBase})` : `this checkout, ${chartBase} (${CHART_BASE_ENV} is unset)`;
    problems.push({
      check: "chart",
      reason: `${file} sets sie-fleet:release.chart to ${release.chart}${release.version ? ` (version ${release.version})` : ""}, a path relative to ${base}: ${problem}`,
      fix:
        `put the sie-cluster chart${release.version ? ` ${release.version}` : ""} (its unpacked directory, with Chart.yaml) at ${resolved.localDir}; ` +
        `or set ${CHART_BASE_ENV} to the directory that ${relative} starts from (a relative value starts at ${repoRoot}); ` +
        `or, with registry access, set sie-fleet:release.chart in ${file} to oci://ghcr.io/superlinked/charts/sie-cluster`,
    });
    return undefined;
  }
  return { chartBase, chart: resolved };
}

function checkGo(go: GoInfo | undefined, missing: readonly DemoTool[], repoRoot: string, problems: DemoProblem[]): void {
  const needs = missing.map((t) => ({ tool: t, version: goDirective(path.join(repoRoot, t.goMod)) }));
  const newest = needs.reduce((a, b) => (semver.gt(coerce(b.version), coerce(a.version)) ? b : a)).version;
  const instead = missing.flatMap((t) => (t.instead ? [`; ${t.instead}`] : [])).join("");
  const what = missing.map((t) => t.what).join(", ");
  if (!go) {
    problems.push({
      check: "go",
      reason: `${what} ${missing.length === 1 ? "is" : "are"} not built yet and Go is not on PATH to build ${missing.length === 1 ? "it" : "them"}`,
      fix: `install Go ${newest} or newer (go.dev/dl; Debian's golang-go is older) and put it on PATH${instead}`,
    });
    return;
  }
  const have = coerce(go.version.replace(/^go/, ""));
  const short = needs.filter((n) => semver.lt(have, coerce(n.version)));
  if (short.length > 0) {
    problems.push({
      check: "go",
      reason: `Go ${go.version.replace(/^go/, "")} on PATH is too old to build ${short.map((n) => `${n.tool.what} (needs ${n.version}, the go line of ${n.tool.goMod})`).join(", ")}`,
      fix: `install Go ${newest} or newer and put it first on PATH${instead}`,
    });
  }
}

function checkDisk(
  go: GoInfo | undefined,
  missing: readonly DemoTool[],
  env: NodeJS.ProcessEnv,
  disk: (dir: string) => DiskInfo,
  problems: DemoProblem[],
): void {
  const wants: { dir: string; bytes: number }[] = [{ dir: toolsDir(env), bytes: TOOLS_DIR_FLOOR_BYTES }];
  if (go) wants.push({ dir: go.cache, bytes: GO_BUILD_CACHE_FLOOR_BYTES }, { dir: go.modCache, bytes: GO_MOD_CACHE_FLOOR_BYTES });
  const byDevice = new Map<number, { dirs: string[]; bytes: number; free: number }>();
  for (const w of wants) {
    const d = disk(w.dir);
    const entry = byDevice.get(d.device) ?? { dirs: [], bytes: 0, free: d.free };
    entry.dirs.push(w.dir);
    entry.bytes += w.bytes;
    byDevice.set(d.device, entry);
  }
  for (const e of byDevice.values()) {
    if (e.free >= e.bytes) continue;
    problems.push({
      check: "disk",
      reason: `${gb(e.free)} free on the disk of ${e.dirs.join(", ")}; building ${missing.map((t) => t.what).join(", ")} needs at least ${gb(e.bytes)} there`,
      fix: `free some space there, or point ${TOOLS_DIR_ENV} (and Go's GOCACHE, GOMODCACHE) at a disk with room`,
    });
  }
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** The `go` line of a go.mod: the oldest Go that builds the module. */
function goDirective(goMod: string): string {
  const m = /^go\s+(\S+)/m.exec(fs.readFileSync(goMod, "utf8"));
  if (!m?.[1]) throw new Error(`${goMod} has no go line`);
  return m[1];
}

/** Go versions as semver: 1.26 → 1.26.0, 1.26.8-X:... → 1.26.8. */
function coerce(v: string): semver.SemVer {
  return semver.coerce(v) ?? new semver.SemVer("0.0.0");
}

function goOnPath(env: NodeJS.ProcessEnv): GoInfo | undefined {
  const r = spawnSync("go", ["env", "GOVERSION", "GOCACHE", "GOMODCACHE"], { encoding: "utf8", env });
  if (r.error || r.status !== 0) return undefined;
  const [version = "", cache = "", modCache = ""] = r.stdout.trim().split("\n");
  return { version, cache, modCache };
}

/** Free space and filesystem of `dir`, or of its nearest existing parent (the builds create it). */
export function diskOf(dir: string): DiskInfo {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return { free: s.bavail * s.bsize, device: fs.statSync(d).dev };
}
