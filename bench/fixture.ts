// A deployed local stack for one benchmark: a scratch copy of the project in a temp dir, its own
// file backend, state dir and namespace on the bench's embedded cluster (the real control plane,
// the real Helm release), optionally a real Prometheus scraping the endpoint server. Driven from
// the outside: the sie-fleet CLI and the raw pulumi CLI run as child processes so their wall time
// and memory are what a user would see.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { makeScratchProject } from "../automation/engine/scratchProject.js";
import { ensurePulumi } from "../automation/engine/pulumiCli.js";
import { openStack, pulumiEnv, resolveTarget } from "../automation/engine/stack.js";
import { upStack } from "../automation/engine/operations.js";
import { REPO_ROOT } from "../core/paths.js";
import { PROJECT_DIR_ENV } from "../automation/actions/target.js";
import { startEmbeddedCluster } from "../cluster/index.js";
import type { FakeNodeSpec } from "../cluster/nodes.js";
import { CHART_BASE_ENV } from "../infra/release/chartSource.js";
import { CLUSTER_DIR_ENV } from "../infra/platforms/embeddedCluster.js";
import { startPrometheus, type PrometheusServer } from "../cluster/prometheus.js";
import { withoutClusterPrometheus } from "../test/support/testStackConfig.js";
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
  /** The stack's release namespace on the bench cluster. */
  namespace: string;
  /** The bench cluster's kubeconfig (cluster-admin), for clients and tools beside sie-fleet. */
  kubeconfigPath: string;
  /** The environment the CLI runs with (scratch project, state dir, bench cluster): for in-process calls such as loadStackContext. */
  env: NodeJS.ProcessEnv;
  /** The bench cluster's SIE endpoint server on loopback, when it runs one. */
  endpointsUrl?: string;
  prom?: PrometheusServer;
  /** `sie-fleet <args>` as a child process (with `--json` the events are on stdout). */
  cli(args: string[], opts?: { memory?: boolean; env?: NodeJS.ProcessEnv }): Promise<Proc>;
  /** The real `pulumi <args>` with the environment sie-fleet gives it (file backend, passphrase), plus `env`. */
  pulumi(args: string[], env?: NodeJS.ProcessEnv): Promise<Proc>;
  /** Resolves once every workload of the release is rolled out and Ready, with the wait in ms. */
  waitAllReady(timeoutMs?: number): Promise<number>;
  /** Starts (or restarts) the endpoint server's load generator for this release. */
  startLoad(rps?: number, seconds?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The local stack file, parsed, without the cluster's Prometheus as test stacks have it (a
 * benchmark that wants metric gates passes `prometheus: true`); benchmarks change it and pass it back as YAML.
 */
export function localStackConfig(): Record<string, any> {
  const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as Record<string, any>;
  withoutClusterPrometheus(doc.config);
  return doc;
}

export function dumpStack(doc: Record<string, any>): string {
  return yaml.dump(doc, { lineWidth: 200 });
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  memory?: boolean;
  /** Sees stderr as it arrives, to time a line when the child prints it rather than when it exits. */
  onStderr?: (chunk: string) => void;
}

/** Runs a child to completion and times it from spawn to exit. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<Proc> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  const watcher = opts.memory && child.pid ? watchTree(child.pid) : undefined;
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    opts.onStderr?.(d);
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      resolve({ code, ms, stdout, stderr, ...(watcher ? { memory: watcher.stop() } : {}) });
    });
  });
}

/** The cluster every benchmark stack runs on, one per `npm run bench` (bench/run.ts starts and stops it). */
export const BENCH_CLUSTER_DIR = path.join(REPO_ROOT, ".sie-fleet", "bench-cluster");

export async function benchStack(
  opts: {
    stackFile?: string;
    prometheus?: boolean;
    /** Another cluster than the bench's shared one, with these nodes instead of the default fleet (the caller stops it). */
    cluster?: { dir: string; nodes: readonly FakeNodeSpec[] };
    log?: (l: string) => void;
  } = {},
): Promise<BenchStack> {
  const log = opts.log ?? (() => undefined);
  const pulumiCmd = await ensurePulumi({ onProgress: log });
  const clusterDir = opts.cluster?.dir ?? BENCH_CLUSTER_DIR;
  // Without KEDA: the ratios compare against a raw `pulumi up`, which no autoscaler moves under.
  const cluster = await startEmbeddedCluster({ dir: clusterDir, onProgress: log, keda: false, ...(opts.cluster ? { nodes: opts.cluster.nodes } : {}) });
  const namespace = `bench-${randomBytes(3).toString("hex")}`;
  const doc = opts.stackFile ? (yaml.load(opts.stackFile) as Record<string, any>) : localStackConfig();
  doc.config["sie-fleet:release"] = { ...doc.config["sie-fleet:release"], namespace };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-bench-"));
  makeScratchProject(dir, { stacks: [], stackFiles: { [STACK]: dumpStack(doc) } });
  const stateDir = path.join(dir, ".sie-fleet");
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  let prom: PrometheusServer | undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [PROJECT_DIR_ENV]: dir,
    [CLUSTER_DIR_ENV]: clusterDir,
    [CHART_BASE_ENV]: REPO_ROOT,
    SIE_FLEET_STATE_DIR: stateDir,
    CI: "1",
    NO_COLOR: "1",
  };
  for (const k of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME", "SIE_FLEET_PROMETHEUS_URL"]) delete env[k];
  const cleanup = async () => {
    await prom?.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (opts.prometheus && cluster.metricsUrl) {
      // The target carries the release's namespace as Prometheus Operator's monitors would: the
      // gates select `namespace="<release namespace>"`, and a target labelled otherwise is one
      // they rightly refuse to count as scraped.
      prom = await startPrometheus({ metricsUrl: cluster.metricsUrl, labels: { namespace }, honorLabels: true });
      env.SIE_FLEET_PROMETHEUS_URL = prom.url;
    }
    log(`deploying the local stack in ${dir} (namespace ${namespace})`);
    await upStack(await openStack({ stack: STACK, projectDir: dir, stateDir, env }, { create: true }));
  } catch (err) {
    await cleanup();
    throw err;
  }
  const pEnv = { ...env, ...pulumiEnv(resolveTarget({ stack: STACK, projectDir: dir, stateDir, env })).vars };
  return {
    dir,
    stateDir,
    namespace,
    kubeconfigPath: cluster.kubeconfigPath,
    env,
    ...(cluster.endpointsUrl ? { endpointsUrl: cluster.endpointsUrl } : {}),
    configFile: path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
    ...(prom ? { prom } : {}),
    // Run as the command a user runs (its first line starts Node with the CLI's flags), not as `node <file>`.
    cli: (args, o = {}) => run(CLI, args, { cwd: dir, env: { ...env, ...o.env }, ...(o.memory ? { memory: true } : {}) }),
    pulumi: (args, extra) => run(pulumiCmd.command, [...args, "--stack", STACK, "--non-interactive"], { cwd: dir, env: { ...pEnv, ...extra } }),
    waitAllReady: (timeoutMs) => waitAllReady(apps, namespace, timeoutMs),
    async startLoad(rps = 50, seconds = 600) {
      const r = await fetch(`${cluster.endpointsUrl}/control/load`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ namespace, rps, durationMs: seconds * 1000 }),
      });
      if (!r.ok) throw new Error(`starting load: HTTP ${r.status} ${await r.text()}`);
    },
    stop: cleanup,
  };
}

/** Throws with the tail of the output when a child did not exit as expected. */
export function expectExit(p: Proc, codes: number[], what: string): void {
  if (p.code !== null && codes.includes(p.code)) return;
  const tail = (p.stderr || p.stdout).trim().split("\n").slice(-15).join("\n");
  throw new Error(`${what} exited ${p.code} (expected ${codes.join("/")}):\n${tail}`);
}

type Workload = k8s.V1StatefulSet | k8s.V1Deployment;

/** True when every StatefulSet and Deployment of the release is fully rolled out and Ready. */
export async function allReady(apps: k8s.AppsV1Api, namespace: string): Promise<boolean> {
  const sts = (await apps.listNamespacedStatefulSet({ namespace })).items;
  const deps = (await apps.listNamespacedDeployment({ namespace })).items;
  const settled = (w: Workload) => {
    const want = w.spec?.replicas ?? 1;
    const s = w.status ?? {};
    return (
      (s.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0) &&
      (s.replicas ?? 0) === want &&
      (s.readyReplicas ?? 0) === want &&
      (s.updatedReplicas ?? 0) === want
    );
  };
  return (
    sts.length + deps.length > 0 &&
    sts.every((w) => settled(w) && w.status?.currentRevision === w.status?.updateRevision) &&
    deps.every((w) => settled(w) && (w.status?.availableReplicas ?? 0) === (w.spec?.replicas ?? 1))
  );
}

/** Polls allReady every 100 ms; resolves with the wait in ms. */
export async function waitAllReady(apps: k8s.AppsV1Api, namespace: string, timeoutMs = 300_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await allReady(apps, namespace)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workloads not Ready after ${timeoutMs} ms`);
}
