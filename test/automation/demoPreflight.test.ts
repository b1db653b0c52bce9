// The demo's checks of what it cannot build, on temp checkouts: the chart the local stack resolves
// to, Go for the tools not built yet, disk space for their builds. Nothing here builds anything.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import {
  DEMO_TOOLS,
  demoPreflight,
  diskOf,
  GO_BUILD_CACHE_FLOOR_BYTES,
  GO_MOD_CACHE_FLOOR_BYTES,
  TOOLS_DIR_FLOOR_BYTES,
  type DemoTool,
  type DiskInfo,
  type GoInfo,
} from "../../automation/actions/demoPreflight.js";
import { REPO_ROOT } from "../../core/paths.js";
import { DemoPreflightError, EXIT_CODES } from "../../core/errors.js";
import { isLocalChart } from "../../infra/release/chartSource.js";
import { runCliInProcess } from "./inProcessCli.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sie-demo-preflight-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

let n = 0;
/** A checkout at <dir>/clone with the real local stack file and tools/ go.mod files; optionally the chart copies at <dir>/shared/charts. */
function checkout(opts: { chartVersion?: string; chart?: string } = {}): { root: string; dir: string } {
  const dir = path.join(scratch, `c${n++}`);
  const root = path.join(dir, "clone");
  fs.mkdirSync(path.join(root, "stacks"), { recursive: true });
  let stack = fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8");
  if (opts.chart) stack = stack.replace(/^(\s+chart:\s*).*$/m, `$1${opts.chart}`);
  fs.writeFileSync(path.join(root, "stacks", "Pulumi.local.yaml"), stack);
  for (const t of DEMO_TOOLS) {
    fs.mkdirSync(path.dirname(path.join(root, t.goMod)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, t.goMod), path.join(root, t.goMod));
  }
  if (opts.chartVersion) {
    const chartDir = path.join(dir, "shared", "charts", "sie-cluster-0.3.1");
    fs.mkdirSync(chartDir, { recursive: true });
    fs.writeFileSync(path.join(chartDir, "Chart.yaml"), `apiVersion: v2\nname: sie-cluster\nversion: ${opts.chartVersion}\n`);
  }
  return { root, dir };
}

/** A real tool entry whose build is there or not. */
const tool = (t: DemoTool, built: boolean): DemoTool => ({
  ...t,
  find: () => (built ? { ok: true, root: `/cache/${t.what}` } : { ok: false, reason: `${t.what} is not built` }),
});
const allBuilt = DEMO_TOOLS.map((t) => tool(t, true));
const noneBuilt = DEMO_TOOLS.map((t) => tool(t, false));
const goVersion =
  (version: string): (() => GoInfo) =>
  () => ({ version, cache: "/go/cache", modCache: "/go/mod" });
const roomy = (): DiskInfo => ({ free: 100e9, device: 1 });

function preflightError(fn: () => unknown): DemoPreflightError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DemoPreflightError);
    return err as DemoPreflightError;
  }
  throw new Error("expected a DemoPreflightError");
}

describe("demo preflight: the chart", () => {
  it("a clone without ../shared: one message naming the stack file, the key, the base and the directory it looked in, and the fixes", () => {
    const { root, dir } = checkout();
    const go = vi.fn(goVersion("go1.26.8"));
    const e = preflightError(() => demoPreflight({ env: {}, repoRoot: root, tools: allBuilt, go, disk: roomy }));
    expect(e.exitCode).toBe(EXIT_CODES.usage);
    expect(e.code).toBe("demo-preflight");
    expect(e.problems.map((p) => p.check)).toEqual(["chart"]);
    const looked = path.join(dir, "shared", "charts", "sie-cluster-0.3.1");
    expect(e.message).toContain("stacks/Pulumi.local.yaml sets sie-fleet:release.chart to ../shared/charts/sie-cluster-{version} (version 0.3.1)");
    expect(e.message).toContain(`a path relative to this checkout, ${root} (SIE_FLEET_CHART_BASE is unset)`);
    expect(e.message).toContain(`no chart at ${looked}`);
    expect(e.message).toContain("set SIE_FLEET_CHART_BASE to the directory that ../shared/charts/sie-cluster-0.3.1 starts from");
    expect(e.message).toContain("oci://ghcr.io/superlinked/charts/sie-cluster");
    expect(e.hint).toContain("run the demo again");
    // Every tool is built: Go and the disk are not looked at.
    expect(go).not.toHaveBeenCalled();
  });

  it("the chart beside the clone passes, and the demo gets the base it checked", () => {
    const { root } = checkout({ chartVersion: "0.3.1" });
    const r = demoPreflight({ env: {}, repoRoot: root, tools: allBuilt });
    expect(r.chartBase).toBe(root);
    expect(r.chart.localDir).toBe(path.resolve(root, "../shared/charts/sie-cluster-0.3.1"));
    expect(r.toBuild).toEqual([]);
  });

  it("SIE_FLEET_CHART_BASE moves where relative chart paths start; a relative value starts at the checkout", () => {
    const { root } = checkout();
    const other = checkout({ chartVersion: "0.3.1" });
    const absolute = demoPreflight({ env: { SIE_FLEET_CHART_BASE: other.root }, repoRoot: root, tools: allBuilt });
    expect(absolute.chartBase).toBe(other.root);
    const relative = demoPreflight({ env: { SIE_FLEET_CHART_BASE: path.relative(root, other.root) }, repoRoot: root, tools: allBuilt });
    expect(relative.chartBase).toBe(other.root);
    const e = preflightError(() => demoPreflight({ env: { SIE_FLEET_CHART_BASE: "/nowhere/base" }, repoRoot: root, tools: allBuilt }));
    expect(e.message).toContain("SIE_FLEET_CHART_BASE=/nowhere/base (/nowhere/base)");
    expect(e.message).toContain("no chart at /nowhere/shared/charts/sie-cluster-0.3.1");
  });

  it("a chart of another version is named with both versions", () => {
    const { root } = checkout({ chartVersion: "0.3.0" });
    const e = preflightError(() => demoPreflight({ env: {}, repoRoot: root, tools: allBuilt }));
    expect(e.message).toContain("is version 0.3.0, not 0.3.1");
  });

  it("a registry chart is not looked for on disk", () => {
    const { root } = checkout({ chart: "oci://ghcr.io/superlinked/charts/sie-cluster" });
    const r = demoPreflight({ env: {}, repoRoot: root, tools: allBuilt });
    expect(r.chart).toEqual({ chart: "oci://ghcr.io/superlinked/charts/sie-cluster", version: "0.3.1" });
  });

  it("a stack file that does not validate names the key", () => {
    const { root } = checkout({ chart: "" });
    const e = preflightError(() => demoPreflight({ env: {}, repoRoot: root, tools: allBuilt }));
    expect(e.message).toContain("sie-fleet:release.chart");
  });
});

describe("demo preflight: Go and disk, only when something must be built", () => {
  it("no Go, no room and no chart: every problem in one error", () => {
    const { root } = checkout();
    const e = preflightError(() => demoPreflight({ env: {}, repoRoot: root, tools: noneBuilt, go: () => undefined, disk: () => ({ free: 0.3e9, device: 1 }) }));
    expect(e.problems.map((p) => p.check)).toEqual(["chart", "go", "disk"]);
    expect(e.message).toContain("Go is not on PATH");
    expect(e.message).toContain("install Go 1.26.0 or newer");
    expect(e.message).toContain("instead of building the Pulumi CLI, put a pulumi at or above tools/pulumi/VERSION on PATH");
    expect(e.message).toContain("0.3 GB free");
    expect(e.message).toContain("needs at least 1.0 GB");
    expect(e.message.split("\n").filter((l) => l.startsWith("  ") && !l.startsWith("    "))).toHaveLength(3);
  });

  it("Go older than a missing tool's go.mod asks for: names the tool and the version", () => {
    const { root } = checkout({ chartVersion: "0.3.1" });
    const tools = DEMO_TOOLS.map((t) => tool(t, t.goMod === "tools/pulumi/go.mod"));
    const e = preflightError(() => demoPreflight({ env: {}, repoRoot: root, tools, go: goVersion("go1.25.11"), disk: roomy }));
    expect(e.problems.map((p) => p.check)).toEqual(["go"]);
    expect(e.message).toContain("Go 1.25.11 on PATH is too old to build the Pulumi Kubernetes provider and helm (needs 1.26.0");
    expect(e.message).toContain("the Kubernetes control plane (needs 1.26.0");
    expect(e.message).not.toContain("instead of building the Pulumi CLI");
    // The same Go builds the Pulumi CLI alone.
    const pulumiOnly = DEMO_TOOLS.map((t) => tool(t, t.goMod !== "tools/pulumi/go.mod"));
    expect(demoPreflight({ env: {}, repoRoot: root, tools: pulumiOnly, go: goVersion("go1.25.11"), disk: roomy }).toBuild).toEqual(["the Pulumi CLI"]);
  });

  it("disk: what the tools dir and Go's caches need adds up per filesystem", () => {
    const { root } = checkout({ chartVersion: "0.3.1" });
    const env = { SIE_FLEET_TOOLS_DIR: "/tools" };
    const all = TOOLS_DIR_FLOOR_BYTES + GO_BUILD_CACHE_FLOOR_BYTES + GO_MOD_CACHE_FLOOR_BYTES;
    const oneDisk = (free: number) => () => ({ free, device: 1 });
    expect(demoPreflight({ env, repoRoot: root, tools: noneBuilt, go: goVersion("go1.26.8"), disk: oneDisk(all) }).toBuild).toHaveLength(DEMO_TOOLS.length);
    const e = preflightError(() => demoPreflight({ env, repoRoot: root, tools: noneBuilt, go: goVersion("go1.26.8"), disk: oneDisk(all - 1) }));
    expect(e.message).toContain(
      `on the disk of /tools, /go/cache, /go/mod; building the Pulumi CLI, the Pulumi Kubernetes provider and helm, the Kubernetes control plane, KEDA (operator and metrics API server) needs at least ${(all / 1e9).toFixed(1)} GB there`,
    );
    // The tools on a roomy disk, Go's caches on a full one: only the caches' disk is named.
    const split = (dir: string) => (dir === "/tools" ? { free: 50e9, device: 1 } : { free: 1e9, device: 2 });
    const s = preflightError(() => demoPreflight({ env, repoRoot: root, tools: noneBuilt, go: goVersion("go1.26.8"), disk: split }));
    expect(s.problems).toHaveLength(1);
    expect(s.message).toContain("1.0 GB free on the disk of /go/cache, /go/mod");
  });

  it("diskOf measures the nearest existing directory (the builds create theirs)", () => {
    const d = diskOf(path.join(scratch, "not", "there", "yet"));
    expect(d.free).toBeGreaterThan(0);
    expect(d.device).toBe(fs.statSync(scratch).dev);
    expect(fs.existsSync(path.join(scratch, "not"))).toBe(false);
  });

  it("the real --check of each ensure script finds nothing in an empty tools dir, and creates nothing", () => {
    const tools = path.join(scratch, "empty-tools");
    vi.stubEnv("SIE_FLEET_TOOLS_DIR", tools);
    vi.stubEnv("SIE_FLEET_BUILD_PULUMI", "1");
    vi.stubEnv("SIE_FLEET_KUBE_TOOLS", "");
    const found = DEMO_TOOLS.map((t) => t.find());
    expect(found.map((f) => f.ok)).toEqual(DEMO_TOOLS.map(() => false));
    for (const f of found) if (!f.ok) expect(f.reason).toMatch(/not built for these sources yet: run scripts\/ensure-/);
    expect(fs.existsSync(tools)).toBe(false);
  });
});

describe("sie-fleet demo", () => {
  it("without the chart: exit 2 with one error, before anything is built or written", async () => {
    // Safety: this only fails fast while the local stack names a chart on disk.
    const stack = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as { config: Record<string, { chart: string }> };
    expect(isLocalChart(stack.config["sie-fleet:release"]?.chart ?? "")).toBe(true);
    const stateDir = path.join(scratch, "demo-state");
    const r = await runCliInProcess(["demo", "--json", "--state-dir", stateDir], {
      cwd: scratch,
      env: { ...process.env, SIE_FLEET_CHART_BASE: path.join(scratch, "nowhere", "base") },
    });
    expect(r.code).toBe(EXIT_CODES.usage);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ kind: "error", command: "demo", error: { code: "demo-preflight", exitCode: 2 } });
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
