/**
 * The embedded Kubernetes cluster: a real control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) with kwok's fake GPU nodes, the SIE endpoint server and
 * an in-cluster Prometheus (clusterPrometheus.ts), run by a background daemon
 * per cluster directory so that it is started once and reused by the CLI, stacks and test lanes.
 *
 *   const c = await startEmbeddedCluster({ dir, onProgress: console.error });  // or the running one
 *   c.kubeconfigPath, c.server
 *   await stopEmbeddedCluster(dir);     // data kept: the next start is the same cluster
 *   await deleteEmbeddedCluster(dir);   // stop and wipe
 *
 * Tests that want a cluster of their own, in-process, use startControlPlane.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as k8s from "@kubernetes/client-node";
import { EXIT_CODES, SieFleetError, UsageError } from "../core/errors.js";
import { REPO_ROOT } from "../core/paths.js";
import { isProcessAlive } from "../core/processes.js";
import { claimClusterDir, isClusterDir } from "./clusterDir.js";
import {
  CLUSTER_FILE,
  DAEMON_LOG,
  KARPENTER_FILE,
  NODES_FILE,
  daemonLogTail,
  isDaemon,
  PID_FILE,
  readClusterInfo,
  readDaemonPid,
  type ClusterInfo,
} from "./daemonState.js";
import type { FakeNodeSpec } from "./nodes.js";
import { ensureKarpenter, ensureKeda, ensureKubeTools } from "./tools.js";
import type { KarpenterSpec } from "./karpenter/clusterKarpenter.js";
import type { PullTime, PullTimeChange } from "./endpoints/pullTimes.js";
import type { StartDelay, StartDelayChange } from "./endpoints/startDelays.js";

export { startControlPlane, type ControlPlane, type StartControlPlaneOptions } from "./controlPlane.js";
export { ensureKeda, ensureKubeTools, type KubeToolsBuild } from "./tools.js";
export type { ClusterInfo } from "./daemonState.js";

export { CLUSTER_DIR_ENV, embeddedClusterDir } from "../infra/platforms/embeddedCluster.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
// The daemon runs from source under tsx, or compiled beside this file.
const DAEMON = ["daemon.ts", "daemon.js"].map((f) => path.join(HERE, f)).find((f) => fs.existsSync(f)) ?? path.join(HERE, "daemon.ts");

export interface StartEmbeddedClusterOptions {
  dir: string;
  /** Progress lines: the tool build (tens of minutes the first time) and the daemon's start steps. */
  onProgress?: (line: string) => void;
  /** Budget for the daemon's start, after the tools are built (default 240 s). */
  timeoutMs?: number;
  /** Run the SIE endpoint server beside the control plane when it is available (default true). */
  endpoints?: boolean;
  /** Fake nodes to register instead of the default fleet (e.g. cloudNodes() of a GKE/EKS stack); nodes that exist already are kept. */
  nodes?: readonly FakeNodeSpec[];
  /** Run KEDA (operator and metrics API server) in the cluster, building it first if needed (default true; needs the endpoint server). */
  keda?: boolean;
  /**
   * Run Karpenter as the node autoscaler with these NodePools (e.g. shapeFromStackFile()'s), building it
   * first if needed. A restart without it runs the spec the cluster was started with, as for nodes.
   */
  karpenter?: KarpenterSpec;
}

export type EmbeddedCluster = ClusterInfo & {
  /** True when a daemon was already running (or starting) for this dir and was reused. */
  alreadyRunning: boolean;
  /** The daemon's own log. */
  log: string;
};

/** The running cluster of `dir`: cluster.json whose daemon is alive. */
export function runningEmbeddedCluster(dir: string): ClusterInfo | undefined {
  const info = readClusterInfo(path.resolve(dir));
  return info && isDaemon(info.pid) ? info : undefined;
}

/**
 * Starts the cluster of `dir` in a detached daemon and resolves once it is ready; returns the
 * running one if there is one (or waits for one that is starting).
 */
export async function startEmbeddedCluster(opts: StartEmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const dir = path.resolve(opts.dir);
  const logPath = path.join(dir, DAEMON_LOG);
  const running = runningEmbeddedCluster(dir);
  if (running) return { ...running, alreadyRunning: true, log: logPath };
  claimClusterDir(dir);

  const timeoutMs = opts.timeoutMs ?? 240_000;
  let pid = startingDaemon(dir);
  let ours: number | undefined;
  // Only what the daemon writes from now on is relayed.
  let offset = fs.existsSync(logPath) ? fs.statSync(logPath).size : 0;
  if (pid === undefined) {
    const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
    const tools = await ensureKubeTools(progress);
    const keda = (opts.keda ?? true) && (opts.endpoints ?? true);
    const kedaRoot = keda ? await ensureKeda(progress) : undefined;
    const karpenterRoot = opts.karpenter || fs.existsSync(path.join(dir, KARPENTER_FILE)) ? (await ensureKarpenter(progress)).root : undefined;
    // A long first build leaves time for another caller to have started it meanwhile.
    const ready = runningEmbeddedCluster(dir);
    if (ready) return { ...ready, alreadyRunning: true, log: logPath };
    pid = startingDaemon(dir);
    if (pid === undefined) {
      ours = spawnDaemon(
        dir,
        logPath,
        { kube: tools.root, keda: kedaRoot, karpenter: karpenterRoot },
        timeoutMs,
        opts.endpoints ?? true,
        opts.nodes,
        opts.karpenter,
      );
      pid = ours;
    }
  }

  // The daemon's one-line-per-step log, relayed while waiting.
  const relay = (): void => {
    if (!opts.onProgress || !fs.existsSync(logPath)) return;
    const text = fs.readFileSync(logPath, "utf8");
    const end = text.lastIndexOf("\n") + 1;
    if (end <= offset) return;
    for (const line of text.slice(offset, end).split("\n")) if (line) opts.onProgress(line.replace(/^\S+Z /, ""));
    offset = end;
  };
  // Beyond the daemon's own budget for the control plane: node + tsx start-up, endpoints.
  const budgetMs = timeoutMs + 30_000;
  const deadline = Date.now() + budgetMs;
  for (;;) {
    relay();
    const info = readClusterInfo(dir);
    if (info?.pid === pid) return { ...info, alreadyRunning: pid !== ours, log: logPath };
    if (!isDaemon(pid)) {
      // Two callers raced: ours found the other's daemon holding the directory and left (daemon.log says so).
      const other = startingDaemon(dir) ?? runningEmbeddedCluster(dir)?.pid;
      if (other !== undefined && other !== pid) {
        pid = other;
        continue;
      }
      throw new SieFleetError(
        "cluster-start-failed",
        EXIT_CODES.internal,
        `the cluster daemon (pid ${pid}) exited before the cluster was ready; last lines of ${logPath}:\n${indent(daemonLogTail(dir))}`,
        {
          hint: `see ${logPath} and ${path.join(dir, "logs")}/`,
        },
      );
    }
    if (Date.now() > deadline) {
      process.kill(pid, "SIGTERM");
      throw new SieFleetError(
        "cluster-start-timeout",
        EXIT_CODES.internal,
        `the cluster was not ready within ${Math.round(budgetMs / 1000)}s; stopped it. Last lines of ${logPath}:\n${indent(daemonLogTail(dir))}`,
        {
          hint: `a loaded machine can be slow: try again, or look at the component logs in ${path.join(dir, "logs")}`,
        },
      );
    }
    await sleep(200);
  }
}

/**
 * Changes the start delays of a running cluster's SIE pods (cluster/endpoints/startDelays.ts)
 * through its endpoint server; pods created afterwards get them. Returns every delay now set.
 */
export function setStartDelays(endpointsUrl: string, changes: readonly StartDelayChange[]): Promise<StartDelay[]> {
  return changeControl<StartDelay>(endpointsUrl, "starts", changes, "start delays");
}

/**
 * Changes the pull times of a running cluster's worker images (cluster/endpoints/pullTimes.ts)
 * through its endpoint server; pods created afterwards wait for them on nodes without the image.
 * Returns every pull time now set.
 */
export function setPullTimes(endpointsUrl: string, changes: readonly PullTimeChange[]): Promise<PullTime[]> {
  return changeControl<PullTime>(endpointsUrl, "pulls", changes, "pull times");
}

/** `POST {endpointsUrl}/control/<list>` with `{<list>: changes}`; answers the whole list as now stored. */
async function changeControl<T>(endpointsUrl: string, list: "starts" | "pulls", changes: readonly unknown[], what: string): Promise<T[]> {
  const res = await fetch(`${endpointsUrl}/control/${list}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ [list]: changes }),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown> & { error?: string };
  const stored = body[list];
  if (!res.ok || !Array.isArray(stored)) {
    throw new SieFleetError("cluster-start-failed", EXIT_CODES.internal, `the endpoint server refused the ${what}: ${body.error ?? `HTTP ${res.status}`}`, {
      hint: "see the cluster's daemon.log",
    });
  }
  return stored as T[];
}

export interface StopResult {
  /** The daemon that was stopped; undefined when none was running. */
  pid?: number;
  stopped: boolean;
}

/** Stops the cluster of `dir` (SIGTERM to the daemon, which stops every component); keeps its data. */
export async function stopEmbeddedCluster(dir: string, opts: { timeoutMs?: number } = {}): Promise<StopResult> {
  const abs = path.resolve(dir);
  const pid = startingDaemon(abs) ?? runningEmbeddedCluster(abs)?.pid;
  if (pid === undefined) {
    removeStaleFiles(abs);
    return { stopped: false };
  }
  process.kill(pid, "SIGTERM");
  // Each component gets 5 s to exit before SIGKILL; the daemon stops them one by one.
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (isDaemon(pid) && Date.now() < deadline) await sleep(100);
  // Its components carry a parent-death SIGKILL (procs.ts), so they go with it.
  if (isDaemon(pid)) {
    process.kill(pid, "SIGKILL");
    const killDeadline = Date.now() + 5_000;
    while (isDaemon(pid) && Date.now() < killDeadline) await sleep(50);
  }
  removeStaleFiles(abs);
  return { pid, stopped: true };
}

export type ClusterState = "running" | "starting" | "stopped" | "stale";

export interface EmbeddedClusterStatus {
  /** running; starting (daemon up, not ready yet); stopped; stale (the daemon died without cleaning up). */
  state: ClusterState;
  dir: string;
  /** Whether the directory holds a cluster (its data survives a stop). */
  exists: boolean;
  log: string;
  pid?: number;
  server?: string;
  kubeconfigPath?: string;
  endpointsUrl?: string;
  metricsUrl?: string;
  /** The cluster's Prometheus: its Service, and its server on loopback (for people, not the engine). */
  prometheus?: ClusterInfo["prometheus"];
  keda?: ClusterInfo["keda"];
  /** Karpenter as the daemon started it, and whether its process still runs (the cluster runs on without it). */
  karpenter?: NonNullable<ClusterInfo["karpenter"]> & { alive: boolean };
  startedAt?: string;
  versions?: ClusterInfo["versions"];
  components?: { name: string; pid: number | undefined; alive: boolean }[];
  /** Fake nodes Ready / registered, as the API server reports them now. */
  nodes?: { ready: number; total: number };
  /** Why the API server could not be asked, when it could not. */
  apiError?: string;
  /** The last lines of daemon.log, for a stale cluster. */
  lastLog?: string;
}

export async function embeddedClusterStatus(dir: string): Promise<EmbeddedClusterStatus> {
  const abs = path.resolve(dir);
  const base = { dir: abs, exists: isClusterDir(abs), log: path.join(abs, DAEMON_LOG) };
  const info = readClusterInfo(abs);
  if (info && isDaemon(info.pid)) {
    const { pid, server, kubeconfigPath, endpointsUrl, metricsUrl, prometheus, keda, karpenter, startedAt, versions } = info;
    const components = info.components.map((c) => ({ name: c.name, pid: c.pid, alive: c.pid !== undefined && isProcessAlive(c.pid) }));
    const out: EmbeddedClusterStatus = { ...base, state: "running", pid, server, kubeconfigPath, startedAt, versions, components };
    if (endpointsUrl) out.endpointsUrl = endpointsUrl;
    if (metricsUrl) out.metricsUrl = metricsUrl;
    if (prometheus) out.prometheus = prometheus;
    if (keda) out.keda = keda;
    if (karpenter) out.karpenter = { ...karpenter, alive: karpenter.pid !== undefined && isProcessAlive(karpenter.pid) };
    try {
      out.nodes = await nodeCounts(kubeconfigPath);
    } catch (err) {
      out.apiError = (err as Error).message;
    }
    return out;
  }
  const starting = startingDaemon(abs);
  if (starting !== undefined) return { ...base, state: "starting", pid: starting };
  if (info) return { ...base, state: "stale", pid: info.pid, server: info.server, kubeconfigPath: info.kubeconfigPath, lastLog: daemonLogTail(abs) };
  return { ...base, state: "stopped" };
}

/** Stops the cluster of `dir` and removes the directory with everything in it. */
export async function deleteEmbeddedCluster(dir: string): Promise<StopResult & { deleted: boolean }> {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) return { stopped: false, deleted: false };
  if (!isClusterDir(abs)) {
    throw new UsageError(`${abs} is not a sie-fleet cluster directory, so it is not deleted`, { code: "not-a-cluster-dir", hint: "check --dir" });
  }
  const stopped = await stopEmbeddedCluster(abs);
  fs.rmSync(abs, { recursive: true, force: true });
  return { ...stopped, deleted: true };
}

/** The pid in daemon.pid when that daemon is alive. */
function startingDaemon(dir: string): number | undefined {
  const pid = readDaemonPid(dir);
  return isDaemon(pid) ? pid : undefined;
}

function spawnDaemon(
  dir: string,
  logPath: string,
  roots: { kube: string; keda: string | undefined; karpenter: string | undefined },
  timeoutMs: number,
  endpoints: boolean,
  nodes?: readonly FakeNodeSpec[],
  karpenter?: KarpenterSpec,
): number {
  const log = fs.openSync(logPath, "a");
  // The node list goes to the daemon as a file: it may be long, and it stays beside the cluster it shaped.
  // A restart without a node list registers the one the cluster was shaped with, not the default fleet.
  const nodesFile = path.join(dir, NODES_FILE);
  if (nodes) fs.writeFileSync(nodesFile, `${JSON.stringify(nodes, null, 2)}\n`);
  const shaped = nodes !== undefined || fs.existsSync(nodesFile);
  const karpenterFile = path.join(dir, KARPENTER_FILE);
  if (karpenter) fs.writeFileSync(karpenterFile, `${JSON.stringify(karpenter, null, 2)}\n`);
  const autoscaled = roots.karpenter !== undefined && fs.existsSync(karpenterFile);
  const args = [
    ...(DAEMON.endsWith(".ts") ? ["--import", "tsx"] : []),
    DAEMON,
    "--dir",
    dir,
    "--timeout-ms",
    String(timeoutMs),
    ...(endpoints ? [] : ["--no-endpoints"]),
    ...(roots.keda ? [] : ["--no-keda"]),
    ...(shaped ? ["--nodes", nodesFile] : []),
    ...(autoscaled ? ["--karpenter", karpenterFile] : []),
  ];
  // Detached with its own log: it must outlive this process. KUBECONFIG of the caller's shell
  // means nothing to it.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    SIE_FLEET_KUBE_TOOLS: roots.kube,
    ...(roots.keda ? { SIE_FLEET_KEDA_TOOLS: roots.keda } : {}),
    ...(roots.karpenter ? { SIE_FLEET_KARPENTER_TOOLS: roots.karpenter } : {}),
  };
  delete childEnv["KUBECONFIG"];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, detached: true, stdio: ["ignore", log, log], env: childEnv });
  fs.closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new SieFleetError("cluster-start-failed", EXIT_CODES.internal, `could not start ${process.execPath} ${args.join(" ")}`);
  return child.pid;
}

/** cluster.json and daemon.pid left by a daemon that is gone. */
function removeStaleFiles(dir: string): void {
  if (!isDaemon(readClusterInfo(dir)?.pid)) fs.rmSync(path.join(dir, CLUSTER_FILE), { force: true });
  if (!isDaemon(readDaemonPid(dir))) fs.rmSync(path.join(dir, PID_FILE), { force: true });
}

async function nodeCounts(kubeconfigPath: string): Promise<{ ready: number; total: number }> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  let timer: NodeJS.Timeout | undefined;
  const list = await Promise.race([
    kc.makeApiClient(k8s.CoreV1Api).listNode(),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("the API server did not answer within 5 s")), 5_000))),
  ]).finally(() => clearTimeout(timer));
  const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
  return { ready, total: list.items.length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const indent = (text: string): string =>
  text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
