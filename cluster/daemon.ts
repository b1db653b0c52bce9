/**
 * The cluster daemon: the detached process that owns one cluster directory's control plane (and
 * the SIE endpoint server, the cluster's Prometheus and KEDA beside it), so the CLI and test lanes start
 * a cluster once and reuse it.
 *
 *   node --import tsx cluster/daemon.ts --dir DIR [--no-endpoints] [--no-keda] [--karpenter FILE] [--timeout-ms N]
 *
 * It holds `<dir>/daemon.pid` while it lives and writes `<dir>/cluster.json` once everything is
 * ready (daemonState.ts). SIGTERM or SIGINT stops every component in reverse order and removes
 * both files. If a component dies, it stops the rest and exits 1: half a cluster would look
 * healthy to `status` while pods stop changing. Prometheus, KEDA and Karpenter are the exceptions
 * (clusterPrometheus.ts, clusterKeda.ts, karpenter/clusterKarpenter.ts): without them the cluster
 * is still whole, as a real one is when its monitoring or an autoscaler is down. Its own
 * output (daemon.log) is one line per step; each component logs to `<dir>/logs/`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { startClusterKeda, type ClusterKeda } from "./clusterKeda.js";
import { startClusterKarpenter, type ClusterKarpenter, type KarpenterSpec } from "./karpenter/clusterKarpenter.js";
import { startClusterPrometheus, type ClusterPrometheus } from "./clusterPrometheus.js";
import { egressSocketPath, startControlPlane, type ControlPlane, type KubeletServer } from "./controlPlane.js";
import type { PodForward } from "./endpoints/egressForward.js";
import type { FakeNodeSpec } from "./nodes.js";
import { writeJsonAtomic } from "./clusterDir.js";
import { claimPidFile, CLUSTER_FILE, removeDaemonFiles, type ClusterInfo } from "./daemonState.js";
import { stablePorts } from "./ports.js";

/** What the daemon needs of the SIE endpoint server. */
export interface EndpointServer {
  url: string;
  metricsUrl?: string;
  /** Pipes a pod's port to a process on loopback (the cluster's Prometheus, KEDA). */
  forwardPods(rule: PodForward): void;
  /** The pod network proxy for processes that run as the cluster's pods (KEDA). */
  podNetworkUrl?: string;
  stop(): Promise<void>;
}
/**
 * Starts the endpoint server for the cluster behind `kubeconfigPath`, on `ports.endpoints` (stable
 * across restarts), also serving the API server's egress on `egressSocket` (controlPlane.ts
 * egressSocketPath), where the nodes' kubelet is `kubelet` (kwok's server: logs and port-forward
 * of SIE pods), and the pod network on `ports.podNetwork`.
 */
export type StartEndpoints = (
  kubeconfigPath: string,
  ports: { endpoints: number; podNetwork: number },
  egressSocket: string,
  kubelet: KubeletServer,
) => Promise<EndpointServer>;

export interface DaemonOptions {
  dir: string;
  /** The SIE endpoint server to run beside the control plane; none when undefined. */
  startEndpoints?: StartEndpoints;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Fake nodes instead of the default fleet (cloud-shaped nodes of a stack). */
  nodes?: readonly FakeNodeSpec[];
  /** Run KEDA (default true when it is built; it needs the endpoint server). */
  keda?: boolean;
  /** Run Karpenter as the node autoscaler, scaling these NodePools (none when undefined). */
  karpenter?: KarpenterSpec;
}

/** Exit codes of the daemon process (its parent reads them from daemon.log, not the CLI's table). */
export const DAEMON_EXIT = { stopped: 0, failed: 1, busy: 3 } as const;

/**
 * Integration point for the SIE endpoint server: `cluster/endpoints/index.ts` exporting
 * `startEndpointServer({ kubeconfigPath, port?, egressSocket?, kubelet?, podNetwork? }) → { url, metricsUrl, forwardPods, podNetworkUrl, stop }`. Undefined while
 * that module is not part of the tree.
 */
export async function loadEndpointServer(): Promise<StartEndpoints | undefined> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = ["index.ts", "index.js"].map((f) => path.join(here, "endpoints", f)).find((f) => fs.existsSync(f));
  if (!file) return undefined;
  type Module = {
    startEndpointServer?: (o: {
      kubeconfigPath: string;
      port?: number;
      egressSocket?: string;
      kubelet?: KubeletServer;
      podNetwork?: { port?: number };
    }) => Promise<EndpointServer>;
  };
  const mod = (await import(pathToFileURL(file).href)) as Module;
  const start = mod.startEndpointServer;
  if (typeof start !== "function") throw new Error(`${file} does not export startEndpointServer`);
  return (kubeconfigPath, ports, egressSocket, kubelet) =>
    start({ kubeconfigPath, port: ports.endpoints, egressSocket, kubelet, podNetwork: { port: ports.podNetwork } });
}

/** Runs the cluster until a signal or a component's death; resolves with the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const t0 = Date.now();
  const dir = path.resolve(opts.dir);
  const log = opts.log ?? ((line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const clusterFile = path.join(dir, CLUSTER_FILE);
  const removeFiles = (): void => removeDaemonFiles(dir);

  fs.mkdirSync(dir, { recursive: true });
  const other = claimPidFile(dir);
  if (other !== undefined) {
    log(`another cluster daemon (pid ${other}) owns ${dir}; leaving it alone`);
    return DAEMON_EXIT.busy;
  }

  // Until the cluster is up there is nothing to stop in order: exiting runs procs.ts's exit hook,
  // which SIGKILLs whatever has started. Afterwards a signal asks for an orderly stop.
  let requestStop: ((why: string) => void) | undefined;
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  let ready = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (ready) {
      requestStop?.(signal);
      return;
    }
    log(`${signal} while starting: stopping`);
    removeFiles();
    process.exit(DAEMON_EXIT.failed);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  let cp: ControlPlane | undefined;
  let endpoints: EndpointServer | undefined;
  let prometheus: ClusterPrometheus | undefined;
  let keda: ClusterKeda | undefined;
  let karpenter: ClusterKarpenter | undefined;
  let stopping = false;
  try {
    log(`starting the control plane in ${dir}`);
    cp = await startControlPlane({
      dir,
      onProgress: log,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.nodes ? { nodes: opts.nodes } : {}),
    });
    if (opts.karpenter) {
      karpenter = await startClusterKarpenter({ cluster: cp, spec: opts.karpenter, log }).catch((err: unknown) => {
        log(`no node autoscaler in the cluster: Karpenter did not start: ${(err as Error).message}`);
        return undefined;
      });
      if (karpenter) {
        log(`Karpenter ${karpenter.version}: scaling NodePools ${nodePoolNames(opts.karpenter).join(", ")} (log ${karpenter.proc.logPath})`);
        void karpenter.exited.then((why) => {
          if (!stopping) log(`${why}; the cluster runs on without a node autoscaler: Pending pods wait until it is restarted`);
        });
      }
    }
    if (opts.startEndpoints) {
      const ports = await stablePorts(dir, ["endpoints", "podNetwork"], log);
      endpoints = await opts.startEndpoints(cp.kubeconfigPath, ports, egressSocketPath(dir), cp.kubelet);
      log(`SIE endpoint server at ${endpoints.url}`);
      prometheus = await startClusterPrometheus({ dir, kubeconfigPath: cp.kubeconfigPath, endpoints, log });
      if (prometheus) {
        log(`Prometheus ${prometheus.service} in the cluster (its server ${prometheus.url}, log ${prometheus.log})`);
        const p = prometheus;
        void p.exited.then((exit) => {
          if (!stopping) log(`Prometheus ${exit}; the cluster runs on without it: the API server's proxy to ${p.service} is refused (see ${p.log})`);
        });
      }
      if (opts.keda ?? true) {
        keda = await startClusterKeda({ cluster: cp, endpoints, log }).catch((err: unknown) => {
          log(`no KEDA in the cluster: it did not start: ${(err as Error).message}`);
          return undefined;
        });
        if (keda) {
          log(`KEDA ${keda.version}: operator and metrics API server running (logs ${keda.operator.logPath}, ${keda.metricsApiServer.logPath})`);
          void keda.exited.then((why) => {
            if (!stopping) log(`${why}; the cluster runs on without KEDA: ScaledObjects stop scaling until it is restarted`);
          });
        }
      } else log("no KEDA in the cluster (--no-keda)");
    } else {
      log("no Prometheus or KEDA in the cluster: both are reached through the endpoint server's egress, which is not running (--no-endpoints)");
    }
    const info: ClusterInfo = {
      pid: process.pid,
      dir,
      server: cp.server,
      kubeconfigPath: cp.kubeconfigPath,
      ...(endpoints ? { endpointsUrl: endpoints.url, ...(endpoints.metricsUrl ? { metricsUrl: endpoints.metricsUrl } : {}) } : {}),
      ...(prometheus ? { prometheus: { url: prometheus.url, service: prometheus.service, ...(prometheus.pid ? { pid: prometheus.pid } : {}) } } : {}),
      ...(keda ? { keda: { version: keda.version, pids: [keda.operator.pid, keda.metricsApiServer.pid].filter((p) => p !== undefined) } } : {}),
      ...(karpenter && opts.karpenter
        ? { karpenter: { version: karpenter.version, ...(karpenter.proc.pid ? { pid: karpenter.proc.pid } : {}), nodePools: nodePoolNames(opts.karpenter) } }
        : {}),
      startedAt: new Date(t0).toISOString(),
      readyInMs: Date.now() - t0,
      timings: cp.timings,
      restarted: cp.restarted,
      versions: cp.versions,
      components: cp.components(),
      nodes: (await cp.kubeConfig().makeApiClient(k8s.CoreV1Api).listNode()).items.length,
    };
    writeJsonAtomic(clusterFile, info);
    ready = true;
    log(`ready in ${(info.readyInMs / 1000).toFixed(1)}s: ${cp.server}, kubeconfig ${cp.kubeconfigPath}`);
  } catch (err) {
    log(`start failed: ${(err as Error).message}`);
    stopping = true;
    await keda?.stop().catch(() => undefined);
    await karpenter?.stop().catch(() => undefined);
    await prometheus?.stop().catch(() => undefined);
    await endpoints?.stop().catch(() => undefined);
    await cp?.stop();
    removeFiles();
    return DAEMON_EXIT.failed;
  }

  const outcome = await Promise.race([stopRequested.then((signal) => ({ signal })), cp.died.then((died) => ({ died }))]);
  // Gone from status before the slow part: nobody should start using a cluster that is stopping.
  fs.rmSync(clusterFile, { force: true });
  if ("died" in outcome) log(`${outcome.died.name} ${outcome.died.exit}; stopping the rest of the cluster (see ${outcome.died.log})`);
  else log(`${outcome.signal}: stopping`);
  stopping = true;
  await keda?.stop().catch((err: unknown) => log(`KEDA stop failed: ${(err as Error).message}`));
  await karpenter?.stop().catch((err: unknown) => log(`Karpenter stop failed: ${(err as Error).message}`));
  await prometheus?.stop().catch((err: unknown) => log(`Prometheus stop failed: ${(err as Error).message}`));
  await endpoints?.stop().catch((err: unknown) => log(`endpoint server stop failed: ${(err as Error).message}`));
  await cp.stop();
  removeFiles();
  log("stopped");
  return "died" in outcome ? DAEMON_EXIT.failed : DAEMON_EXIT.stopped;
}

function nodePoolNames(spec: KarpenterSpec): string[] {
  return spec.nodePools.map((p) => p.metadata?.name ?? "?");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: "string" },
      "no-endpoints": { type: "boolean" },
      "no-keda": { type: "boolean" },
      karpenter: { type: "string" },
      "timeout-ms": { type: "string" },
      nodes: { type: "string" },
    },
  });
  const dir = values.dir;
  if (!dir) {
    process.stderr.write(
      "usage: node --import tsx cluster/daemon.ts --dir DIR [--no-endpoints] [--no-keda] [--karpenter FILE] [--timeout-ms N] [--nodes FILE]\n",
    );
    process.exit(2);
  }
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  process.on("uncaughtException", (err) => {
    // Exiting SIGKILLs the components (procs.ts), so nothing is left half running.
    log(`uncaught: ${err.stack ?? err.message}`);
    removeDaemonFiles(path.resolve(dir));
    process.exit(DAEMON_EXIT.failed);
  });
  const startEndpoints = values["no-endpoints"] ? undefined : await loadEndpointServer();
  const timeoutMs = values["timeout-ms"] ? Number(values["timeout-ms"]) : undefined;
  const nodes = values.nodes ? (JSON.parse(fs.readFileSync(values.nodes, "utf8")) as FakeNodeSpec[]) : undefined;
  const karpenter = values.karpenter ? (JSON.parse(fs.readFileSync(values.karpenter, "utf8")) as KarpenterSpec) : undefined;
  process.exit(
    await runDaemon({
      dir,
      log,
      ...(startEndpoints ? { startEndpoints } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(nodes ? { nodes } : {}),
      ...(values["no-keda"] ? { keda: false } : {}),
      ...(karpenter ? { karpenter } : {}),
    }),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
