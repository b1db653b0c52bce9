/**
 * `cluster start|stop|status|delete`: the embedded Kubernetes cluster (cluster/index.ts) as a
 * background daemon per directory. A thin layer: flags → cluster/ → one result.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import {
  embeddedClusterDir,
  deleteEmbeddedCluster,
  embeddedClusterStatus,
  setPullTimes,
  setStartDelays,
  startEmbeddedCluster,
  stopEmbeddedCluster,
  type EmbeddedClusterStatus,
} from "../../../cluster/index.js";
import { isClusterDir } from "../../../cluster/clusterDir.js";
import { PodTargetError } from "../../../cluster/endpoints/podTargets.js";
import { describePullTime, parsePullTimeFlag, type PullTime } from "../../../cluster/endpoints/pullTimes.js";
import { describeStartDelay, parseStartDelayFlag, type StartDelay } from "../../../cluster/endpoints/startDelays.js";
import { shapeFromStackFile } from "../../../cluster/nodesFromStack.js";
import { ensureKubectl } from "../../../cluster/tools.js";
import { EXIT_CODES, UsageError } from "../../../core/errors.js";
import type { CommandContext } from "../context.js";

export interface ClusterFlags {
  dir?: string;
  /** commander's --no-endpoints. */
  endpoints?: boolean;
  /** commander's --no-keda. */
  keda?: boolean;
  timeout?: number;
  /** A GKE or EKS stack file whose pools the cluster's nodes are shaped after. */
  nodesFrom?: string;
  /** Run Karpenter as the node autoscaler for the --nodes-from stack's pools. */
  karpenter?: boolean;
  /** How long Karpenter's nodes take to join (Karpenter duration). */
  nodeDelay?: string;
  consolidateAfter?: string;
  /** `[<namespace>/]<component>[:<pool>][@<version>]=<duration|off>`, repeatable. */
  startDelay?: string[];
  /** `[<namespace>/]worker[:<pool>][@<version>]=<duration|off>`, repeatable. */
  pullTime?: string[];
  /** `cluster kubectl`: kubectl's own arguments (after `--`). */
  args?: string[];
}

/** How long a node from Karpenter takes to join unless --node-delay says: a GPU instance boots, joins and gets its driver in a minute or more. */
export const DEFAULT_NODE_DELAY = "60s";

/**
 * The values of a flag the endpoint server plays (--start-delay, --pull-time), parsed before
 * anything starts; refused with --no-endpoints.
 */
function endpointFlags<C>(values: string[] | undefined, flag: string, parse: (text: string) => C, hint: string, flags: ClusterFlags): C[] {
  const code = `bad-${flag.slice(2)}`;
  const parsed = (values ?? []).map((v) => {
    try {
      return parse(v);
    } catch (err) {
      if (!(err instanceof PodTargetError)) throw err;
      throw new UsageError(err.message, { code, hint });
    }
  });
  if (parsed.length > 0 && flags.endpoints === false) {
    throw new UsageError(`${flag} is played by the SIE endpoint server, but --no-endpoints is given`, { code, hint: `leave out --no-endpoints, or ${flag}` });
  }
  return parsed;
}

/** The endpoint server of a cluster that has run before without one cannot play `flag`. */
function needEndpoints(endpointsUrl: string | undefined, flag: string, dir: string): string {
  if (!endpointsUrl) {
    throw new UsageError(`${flag} needs the cluster's endpoint server, and the cluster in ${dir} runs without one`, {
      code: `bad-${flag.slice(2)}`,
      hint: "stop it and start it again without --no-endpoints",
    });
  }
  return endpointsUrl;
}

function clusterDir(flags: ClusterFlags, ctx: CommandContext): string {
  return flags.dir ? path.resolve(ctx.io.cwd, flags.dir) : embeddedClusterDir(ctx.globals.stateDir, ctx.io.env);
}

export async function start(flags: ClusterFlags, ctx: CommandContext): Promise<number> {
  const dir = clusterDir(flags, ctx);
  const tuning = flags.nodeDelay ? "--node-delay" : flags.consolidateAfter ? "--consolidate-after" : undefined;
  if (tuning && !flags.karpenter) {
    throw new UsageError(`${tuning} tunes Karpenter's nodes, but --karpenter is not given`, {
      code: "bad-nodes-from",
      hint: `add --karpenter (with --nodes-from), or leave ${tuning} out`,
    });
  }
  if (flags.karpenter && !flags.nodesFrom) {
    throw new UsageError("--karpenter needs --nodes-from: its NodePools are generated from a gke or eks stack's pools", {
      code: "bad-nodes-from",
      hint: "e.g. sie-fleet cluster start --dir .sie-fleet/eks-shaped --nodes-from stacks/Pulumi.eks-prod.yaml --karpenter",
    });
  }
  const startDelays = endpointFlags(
    flags.startDelay,
    "--start-delay",
    parseStartDelayFlag,
    "e.g. --start-delay worker=90s --start-delay worker:a100=3m",
    flags,
  );
  const pullTimes = endpointFlags(flags.pullTime, "--pull-time", parsePullTimeFlag, "e.g. --pull-time worker=2m --pull-time worker:a100=5m", flags);
  const autoscaler = flags.karpenter
    ? { registrationDelay: flags.nodeDelay ?? DEFAULT_NODE_DELAY, ...(flags.consolidateAfter ? { consolidateAfter: flags.consolidateAfter } : {}) }
    : undefined;
  const shaped = flags.nodesFrom ? shapeFromStackFile(path.resolve(ctx.io.cwd, flags.nodesFrom), autoscaler) : undefined;
  // Nodes that exist are kept, so shaping a cluster that has some would leave a mixed fleet.
  if (shaped && isClusterDir(dir)) {
    throw new UsageError(`--nodes-from shapes a new cluster, but ${dir} holds one already (with its nodes)`, {
      code: "bad-nodes-from",
      hint: `use a new --dir, or delete this one first: sie-fleet cluster delete --dir ${dir} --yes`,
    });
  }
  const c = await startEmbeddedCluster({
    dir,
    ...(shaped ? { nodes: shaped.nodes } : {}),
    ...(shaped?.karpenter ? { karpenter: shaped.karpenter } : {}),
    endpoints: flags.endpoints ?? true,
    keda: flags.keda ?? true,
    ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
    // Progress on stderr, so stdout stays the result (and stays JSON with --json).
    onProgress: (line) => void ctx.io.stderr.write(`cluster: ${line}\n`),
  });
  const { alreadyRunning, pid, server, kubeconfigPath, endpointsUrl, metricsUrl, prometheus, keda, karpenter, readyInMs, restarted, nodes, versions, log } = c;
  const starts: StartDelay[] | undefined =
    startDelays.length > 0 ? await setStartDelays(needEndpoints(endpointsUrl, "--start-delay", dir), startDelays) : undefined;
  const pulls: PullTime[] | undefined = pullTimes.length > 0 ? await setPullTimes(needEndpoints(endpointsUrl, "--pull-time", dir), pullTimes) : undefined;
  ctx.out.result(
    "cluster start",
    {
      running: true,
      alreadyRunning,
      dir,
      pid,
      server,
      kubeconfigPath,
      endpointsUrl,
      metricsUrl,
      prometheus,
      keda,
      karpenter,
      ...(starts ? { startDelays: starts } : {}),
      ...(pulls ? { pullTimes: pulls } : {}),
      readyInMs,
      restarted,
      nodes,
      versions,
      log,
    },
    [
      alreadyRunning
        ? `cluster already running (pid ${pid})`
        : `cluster ${restarted ? "restarted" : "started"} in ${(readyInMs / 1000).toFixed(1)}s (pid ${pid})`,
      `  server      ${server}  (Kubernetes ${versions.kubernetes}, ${nodes} fake nodes)`,
      `  kubeconfig  ${kubeconfigPath}`,
      ...(endpointsUrl ? [`  endpoints   ${endpointsUrl}`] : []),
      ...(metricsUrl ? [`  metrics     ${metricsUrl}`] : []),
      ...(prometheus ? [`  prometheus  ${prometheusLine(prometheus)}`] : []),
      ...(keda
        ? [`  keda        ${keda.version} (operator and metrics API server: external.metrics.k8s.io)`]
        : flags.keda === false || flags.endpoints === false
          ? []
          : [`  keda        not running: nothing scales (${log} says why)`]),
      ...(karpenter
        ? [`  karpenter   ${karpenter.version} (node autoscaler: NodePools ${karpenter.nodePools.join(", ")})`]
        : shaped?.karpenter
          ? [`  karpenter   not running: no nodes are added (${log} says why)`]
          : []),
      ...(starts
        ? [`  starts      ${starts.length > 0 ? starts.map(describeStartDelay).join(", ") : "none"} (new SIE pods pass their startup probe that much later)`]
        : []),
      ...(pulls
        ? [
            `  pulls       ${pulls.length > 0 ? pulls.map(describePullTime).join(", ") : "none"} (a node without the worker image pulls it that long before the pod starts)`,
          ]
        : []),
      `  logs        ${log}, ${path.join(dir, "logs")}/`,
      `try: kubectl --kubeconfig ${kubeconfigPath} get nodes`,
      `stop it with: sie-fleet cluster stop${flags.dir ? ` --dir ${flags.dir}` : ""}`,
    ],
  );
  return EXIT_CODES.ok;
}

export async function stop(flags: ClusterFlags, ctx: CommandContext): Promise<number> {
  const dir = clusterDir(flags, ctx);
  const r = await stopEmbeddedCluster(dir);
  ctx.out.result("cluster stop", { running: false, stopped: r.stopped, ...(r.pid ? { pid: r.pid } : {}), dir }, [
    r.stopped
      ? `cluster stopped (pid ${r.pid}); its data stays in ${dir}, \`sie-fleet cluster start\` brings the same cluster back`
      : `cluster is not running (dir ${dir})`,
  ]);
  return EXIT_CODES.ok;
}

export async function status(flags: ClusterFlags, ctx: CommandContext): Promise<number> {
  const s = await embeddedClusterStatus(clusterDir(flags, ctx));
  ctx.out.result("cluster status", s, () => statusLines(s));
  return EXIT_CODES.ok;
}

/** Stacks name the Service; the loopback server is for looking at it by hand. */
function prometheusLine(p: { service: string; url: string }): string {
  return `Service ${p.service} (sie-fleet reaches it through the API server), server ${p.url}`;
}

function statusLines(s: EmbeddedClusterStatus): string[] {
  switch (s.state) {
    case "running":
      return [
        `cluster running (pid ${s.pid}, since ${s.startedAt})${s.apiError ? ` but its API server does not answer: ${s.apiError}` : ""}`,
        `  server      ${s.server}  (Kubernetes ${s.versions?.kubernetes})`,
        `  kubeconfig  ${s.kubeconfigPath}`,
        ...(s.nodes ? [`  nodes       ${s.nodes.ready}/${s.nodes.total} Ready`] : []),
        ...(s.endpointsUrl ? [`  endpoints   ${s.endpointsUrl}`] : []),
        ...(s.prometheus ? [`  prometheus  ${prometheusLine(s.prometheus)}`] : []),
        ...(s.keda ? [`  keda        ${s.keda.version} (pids ${s.keda.pids.join(", ")})`] : []),
        ...(s.karpenter
          ? [
              `  karpenter   ${s.karpenter.version} (pid ${s.karpenter.pid ?? "?"}${s.karpenter.alive ? "" : ", gone: no nodes are added or removed"}; NodePools ${s.karpenter.nodePools.join(", ")})`,
            ]
          : []),
        `  components  ${(s.components ?? []).map((c) => `${c.name} ${c.pid ?? "?"}${c.alive ? "" : " (gone)"}`).join(", ")}`,
      ];
    case "starting":
      return [`cluster starting (daemon pid ${s.pid}); see ${s.log}`];
    case "stale":
      return [
        `cluster is down: its daemon (pid ${s.pid}) died without stopping cleanly; last lines of ${s.log}:`,
        ...(s.lastLog ?? "").split("\n").map((l) => `  ${l}`),
        "start it again with: sie-fleet cluster start",
      ];
    case "stopped":
      return [
        s.exists
          ? `cluster stopped (data kept in ${s.dir}); start it with: sie-fleet cluster start`
          : `no cluster in ${s.dir}; create one with: sie-fleet cluster start`,
      ];
  }
}

export async function remove(flags: ClusterFlags, ctx: CommandContext): Promise<number> {
  const dir = clusterDir(flags, ctx);
  if (!ctx.globals.yes) {
    throw new UsageError(`cluster delete removes ${dir} with all the cluster's data: re-run with --yes to confirm`, {
      code: "needs-yes",
      hint: `sie-fleet cluster delete --yes${flags.dir ? ` --dir ${flags.dir}` : ""}`,
    });
  }
  const r = await deleteEmbeddedCluster(dir);
  ctx.out.result("cluster delete", { deleted: r.deleted, stopped: r.stopped, dir }, [
    r.deleted ? `cluster deleted${r.stopped ? ` (stopped pid ${r.pid} first)` : ""}: ${dir}` : `no cluster in ${dir}`,
  ]);
  return EXIT_CODES.ok;
}

/**
 * kubectl of the cluster's own Kubernetes release with the cluster's kubeconfig, built the first
 * time: the runbooks' kubectl checks run as written, with nothing installed. Its output and exit
 * code are kubectl's.
 */
export async function kubectl(flags: ClusterFlags, ctx: CommandContext): Promise<number> {
  const dir = clusterDir(flags, ctx);
  if (!isClusterDir(dir)) {
    throw new UsageError(`no cluster in ${dir}`, {
      code: "no-cluster",
      hint: `start one first: sie-fleet cluster start${flags.dir ? ` --dir ${flags.dir}` : ""}`,
    });
  }
  const bin = await ensureKubectl({ onProgress: (line) => void ctx.io.stderr.write(`cluster: ${line}\n`) });
  const child = spawn(bin, flags.args ?? [], {
    cwd: ctx.io.cwd,
    env: { ...ctx.io.env, KUBECONFIG: path.join(dir, "kubeconfig") },
    stdio: ["inherit", "pipe", "pipe"],
  });
  child.stdout.on("data", (d: Buffer) => void ctx.io.stdout.write(d.toString()));
  child.stderr.on("data", (d: Buffer) => void ctx.io.stderr.write(d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}
