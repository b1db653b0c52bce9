/**
 * The files through which the cluster daemon (daemon.ts) tells other processes what it is doing:
 * `<dir>/daemon.pid` while it lives (starting, running or stopping), `<dir>/cluster.json` once
 * everything is ready, `<dir>/daemon.log` for its own output. These files are the whole contract
 * between the daemon and its callers (index.ts, the CLI).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isProcessAlive } from "../core/processes.js";

export const CLUSTER_FILE = "cluster.json";
/** Where `cluster start --nodes-from` leaves the node list the daemon registers. */
export const NODES_FILE = "nodes.json";
/** What the cluster's Karpenter scales (clusterKarpenter.ts KarpenterSpec), when it runs one: kept for restarts, as the nodes are. */
export const KARPENTER_FILE = "karpenter.json";
export const PID_FILE = "daemon.pid";
export const DAEMON_LOG = "daemon.log";

export interface ClusterInfo {
  /** The daemon's pid. */
  pid: number;
  dir: string;
  /** https://127.0.0.1:<port>, stable across restarts of the same dir. */
  server: string;
  /** Admin kubeconfig, always `<dir>/kubeconfig`. */
  kubeconfigPath: string;
  /** The SIE endpoint server, when it runs beside the control plane. */
  endpointsUrl?: string;
  metricsUrl?: string;
  /**
   * The cluster's Prometheus (cluster/clusterPrometheus.ts), when it runs: `service` is how
   * sie-fleet reaches it (the API server's service proxy); `url`, its server on loopback, and
   * `pid` are for people diagnosing the cluster, never for sie-fleet's engine.
   */
  prometheus?: { service: string; url: string; pid?: number };
  /** KEDA (cluster/clusterKeda.ts), when it runs: its release and the operator's and metrics API server's pids. */
  keda?: { version: string; pids: number[] };
  /** Karpenter (cluster/karpenter/), when it runs: its release, pid and the NodePools it scales. */
  karpenter?: { version: string; pid?: number; nodePools: string[] };
  startedAt: string;
  /** From the daemon's start to ready. */
  readyInMs: number;
  /** The control plane's own start steps (ms). */
  timings: Record<string, number>;
  /** Whether the directory held a cluster already (same CA, data and ports). */
  restarted: boolean;
  versions: { kubernetes: string; etcd: string; kwok: string };
  components: { name: string; pid: number | undefined; log: string }[];
  nodes: number;
}

export function readClusterInfo(dir: string): ClusterInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, CLUSTER_FILE), "utf8")) as ClusterInfo;
    return typeof info.pid === "number" ? info : undefined;
  } catch {
    return undefined;
  }
}

export function readDaemonPid(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, PID_FILE), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Alive and really a cluster daemon: a stale file may name a pid the OS has since given to another
 * program, which must never be signalled.
 */
export function isDaemon(pid: number | undefined): pid is number {
  if (pid === undefined || !isProcessAlive(pid)) return false;
  try {
    return /cluster[/\\]daemon\.(ts|js)/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    // No /proc (macOS): trust the pid.
    return true;
  }
}

/** The last lines of the daemon's log, for error messages. */
export function daemonLogTail(dir: string, lines = 8): string {
  try {
    return fs.readFileSync(path.join(dir, DAEMON_LOG), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no daemon.log)";
  }
}

/**
 * Takes `<dir>/daemon.pid` for this process. Returns the pid of another live daemon that holds
 * it instead (then nothing is written); a file naming a dead process is taken over.
 */
export function claimPidFile(dir: string): number | undefined {
  const file = path.join(dir, PID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readDaemonPid(dir);
    if (holder !== undefined && holder !== process.pid && isDaemon(holder)) return holder;
    fs.rmSync(file, { force: true });
  }
  return readDaemonPid(dir);
}

/** Removes cluster.json, and daemon.pid if it names this process. */
export function removeDaemonFiles(dir: string): void {
  fs.rmSync(path.join(dir, CLUSTER_FILE), { force: true });
  if (readDaemonPid(dir) === process.pid) fs.rmSync(path.join(dir, PID_FILE), { force: true });
}
