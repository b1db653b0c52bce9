// A deployed local stack for one benchmark: a scratch copy of the project in a temp dir, its own
// file backend and state dir, the SIE simulator on random loopback ports, optionally a real
// Prometheus scraping it. The same pieces the engine tests use (automation/engine/scratchProject,
// sim/ spawnSimulator, the real Pulumi CLI through ensurePulumi), driven from the outside: the
// sie-fleet CLI and the raw pulumi CLI run as child processes so their wall time and memory are
// what a user would see.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { makeScratchProject } from "../automation/engine/scratchProject.js";
import { ensurePulumi } from "../automation/engine/pulumiCli.js";
import { openStack, pulumiEnv, resolveTarget } from "../automation/engine/stack.js";
import { upStack } from "../automation/engine/operations.js";
import { REPO_ROOT } from "../automation/engine/paths.js";
import { PROJECT_DIR_ENV } from "../automation/actions/target.js";
import { spawnSimulator, type SpawnedSimulator } from "../sim/index.js";
import { startPrometheus, type PrometheusServer } from "../cluster/prometheus.js";
import { watchTree, type TreeMemory } from "./procTree.js";

export const STACK = "local";
export const CLI = path.join(REPO_ROOT, "bin", "sie-fleet.js");

export interface Proc {
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
  memory?: TreeMemory;
}

export interface BenchStack {
  dir: string;
  stateDir: string;
  configFile: string;
  sim: SpawnedSimulator;
  prom?: PrometheusServer;
  /** `sie-fleet <args>` as a child process (with `--json` the events are on stdout). */
  cli(args: string[], opts?: { memory?: boolean }): Promise<Proc>;
  /** The real `pulumi <args>` with the environment sie-fleet gives it (file backend, passphrase). */
  pulumi(args: string[]): Promise<Proc>;
  /** Starts (or restarts) the simulator's load generator. */
  startLoad(rps?: number, seconds?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The local stack file, parsed; benchmarks change it and pass it back as YAML. */
export function localStackConfig(): Record<string, any> {
  return yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as Record<string, any>;
}

export function dumpStack(doc: Record<string, any>): string {
  return yaml.dump(doc, { lineWidth: 200 });
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; memory?: boolean }): Promise<Proc> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  const watcher = opts.memory && child.pid ? watchTree(child.pid) : undefined;
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      resolve({ code, ms, stdout, stderr, ...(watcher ? { memory: watcher.stop() } : {}) });
    });
  });
}

export async function benchStack(opts: { stackFile?: string; prometheus?: boolean; log?: (l: string) => void } = {}): Promise<BenchStack> {
  const log = opts.log ?? (() => undefined);
  const pulumiCmd = await ensurePulumi({ onProgress: log });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-bench-"));
  makeScratchProject(dir, opts.stackFile ? { stacks: [], stackFiles: { [STACK]: opts.stackFile } } : { stacks: [STACK] });
  const stateDir = path.join(dir, ".sie-fleet");
  const sim = await spawnSimulator({ stateDir: path.join(stateDir, "sim"), profile: "fast", startTimeoutMs: 120_000 }).catch((err: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let prom: PrometheusServer | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, [PROJECT_DIR_ENV]: dir, SIE_FLEET_SIM_DIR: path.join(stateDir, "sim"), SIE_FLEET_STATE_DIR: stateDir, CI: "1", NO_COLOR: "1" };
  for (const k of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME", "SIE_FLEET_PROMETHEUS_URL"]) delete env[k];
  try {
    if (opts.prometheus) {
      prom = await startPrometheus({ metricsUrl: sim.metrics, labels: { namespace: "sie" } });
      env.SIE_FLEET_PROMETHEUS_URL = prom.url;
    }
    log(`deploying the local stack in ${dir}`);
    await upStack(await openStack({ stack: STACK, projectDir: dir, stateDir, env }, { create: true }));
  } catch (err) {
    await prom?.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const pEnv = { ...env, ...pulumiEnv(resolveTarget({ stack: STACK, projectDir: dir, stateDir, env })).vars };
  return {
    dir,
    stateDir,
    configFile: path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
    sim,
    ...(prom ? { prom } : {}),
    cli: (args, o = {}) => run(process.execPath, [CLI, ...args], { cwd: dir, env, ...(o.memory ? { memory: true } : {}) }),
    pulumi: (args) => run(pulumiCmd.command, [...args, "--stack", STACK, "--non-interactive"], { cwd: dir, env: pEnv }),
    async startLoad(rps = 50, seconds = 600) {
      const r = await fetch(`${sim.api}/sim/load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "start", rps, durationMs: seconds * 1000 }) });
      if (!r.ok) throw new Error(`starting load: HTTP ${r.status} ${await r.text()}`);
    },
    async stop() {
      await prom?.stop();
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Throws with the tail of the output when a child did not exit as expected. */
export function expectExit(p: Proc, codes: number[], what: string): void {
  if (p.code !== null && codes.includes(p.code)) return;
  const tail = (p.stderr || p.stdout).trim().split("\n").slice(-15).join("\n");
  throw new Error(`${what} exited ${p.code} (expected ${codes.join("/")}):\n${tail}`);
}

interface Workload {
  metadata: { name: string; generation?: number };
  spec: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number; currentRevision?: string; updateRevision?: string };
}

/** True when every StatefulSet and Deployment of the release is fully rolled out and Ready. */
export async function allReady(api: string, namespace = "sie"): Promise<boolean> {
  const list = async (p: string) => ((await (await fetch(`${api}${p}`)).json()) as { items: Workload[] }).items;
  const sts = await list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`);
  const deps = await list(`/apis/apps/v1/namespaces/${namespace}/deployments`);
  const settled = (w: Workload) => {
    const want = w.spec.replicas ?? 1;
    const s = w.status ?? {};
    return (s.observedGeneration ?? 0) >= (w.metadata.generation ?? 0) && (s.replicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.updatedReplicas ?? 0) === want;
  };
  return sts.every((w) => settled(w) && w.status?.currentRevision === w.status?.updateRevision) && deps.every((w) => settled(w) && (w.status?.availableReplicas ?? 0) === want(w));
}

function want(w: Workload): number {
  return w.spec.replicas ?? 1;
}

/** Polls allReady every 100 ms; resolves with the wait in ms. */
export async function waitAllReady(api: string, timeoutMs = 300_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await allReady(api)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workloads not Ready after ${timeoutMs} ms`);
}
