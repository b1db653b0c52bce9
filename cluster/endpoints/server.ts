/**
 * The SIE endpoint server: one HTTP server on 127.0.0.1 that answers the SIE endpoints of every
 * namespace of a real cluster as the Ready pods of each release would (pods on kwok nodes run no
 * code), plus Prometheus metrics for all of them and a small control API.
 *
 *   {url}/namespaces/<ns>/gateway/…   the release's gateway (the engine's gatewayUrl)
 *   {url}/namespaces/<ns>/config/…    its config service (the engine's configUrl)
 *   {url}/metrics                     every namespace's series, labelled `namespace`
 *   {url}/targets                     Prometheus HTTP service discovery: one target per release
 *   {url}/control/{state,load,faults,registry,starts,pulls} see README.md
 *
 * With `egressSocket`, it is also the cluster network behind the API server (egress.ts): each SIE
 * pod answers at its own IP, so the API server's pod and service proxy reach it as on a real cluster,
 * and `forwardPods` makes other pods' ports reach a real process (egressForward.ts). With `kubelet`
 * too, the nodes' kubelet port reaches kwok's server, and each SIE pod gets a log file and the kwok
 * objects behind `kubectl logs` and `kubectl port-forward` (podLogs.ts, kubeletObjects.ts). With
 * `podNetwork` too, processes beside the control plane reach the same pods by Service name through
 * an HTTP proxy (egress.ts startPodNetworkProxy, serviceDns.ts).
 *
 * It also plays the nodes' image cache (imagePulls.ts): pods waiting for a pull are started once
 * their node has the image.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import * as k8s from "@kubernetes/client-node";
import { FAULT_ANNOTATION, isPodFault, parseImage, type PodFault } from "../faults.js";
import { handleConfig } from "./config.js";
import { handleControl, type ControlDeps } from "./control.js";
import { applyMoveChanges, moveSalt, type DigestMoveChange } from "./digestMoves.js";
import { applyScopeChanges, matchScope, type ScopeChange } from "./faultScopes.js";
import { ImagePulls, kubePullApi } from "./imagePulls.js";
import { applyPullTimeChanges, pulledImageOf, pullSecondsFor, type PullTimeChange } from "./pullTimes.js";
import { applyStartDelayChanges, startSecondsFor, type StartDelayChange } from "./startDelays.js";
import { dialSiePods, startEgressProxy, startPodNetworkProxy, type Dial, type EgressProxy, type PodNetworkProxy } from "./egress.js";
import { dialKubelet, ForwardedPods, type KubeletTarget, type PodForward } from "./egressForward.js";
import { Gateway, GatewayState, type Timings } from "./gateway.js";
import { closeServer, listen, sendJson } from "./http.js";
import { LoadGenerator } from "./loadgen.js";
import { EndpointMetrics } from "./metrics.js";
import { DEFAULT_MODELS, type ModelSpec } from "./models.js";
import { KubeletObjects } from "./kubeletObjects.js";
import { NamespaceView } from "./namespaceView.js";
import { NO_REQUEST_LOG, PodLogs } from "./podLogs.js";
import { ClusterPoller, loadKubeConfig, type KubeTarget, type StoredControls } from "./poller.js";
import { resolveInCluster, serviceReads } from "./serviceDns.js";
import { COMPONENTS, componentOf, poolOf } from "./view.js";
import { FaultWebhook } from "./webhook.js";

/** How far the endpoint server's picture of the pods may lag the API server, plus one poll's own time. */
export const POLL_INTERVAL_MS = 500;

export interface EndpointServerOptions extends KubeTarget {
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** Between two polls of the API server (default POLL_INTERVAL_MS). */
  intervalMs?: number;
  /** Models every worker serves (default DEFAULT_MODELS). */
  models?: readonly ModelSpec[];
  timings?: Partial<Timings>;
  /** Where poll and webhook problems are reported (default stderr). */
  log?: (line: string) => void;
  /**
   * The Unix socket the API server's "cluster" egress dials (controlPlane.ts egressSocketPath):
   * when set, SIE pods answer there at their own IPs. A stale socket file is replaced.
   */
  egressSocket?: string;
  /**
   * The nodes' kubelet, kwok's server (controlPlane.ts ControlPlane.kubelet). With `egressSocket`,
   * connections to `nodeIP:port` are piped to it; when its `crds` are enabled, every SIE pod gets a
   * log file in `podLogsDir` and kwok `Logs` and `PortForward` objects, so `kubectl logs` and
   * `kubectl port-forward` work.
   */
  kubelet?: KubeletTarget & { podLogsDir: string; crds: boolean };
  /**
   * With `egressSocket`: also the pod network as a pod sees it, an HTTP proxy on 127.0.0.1:`port`
   * (default 0: a free one) for processes beside the control plane (HTTP_PROXY/HTTPS_PROXY):
   * Service names and ClusterIPs resolve as cluster DNS and kube-proxy would (serviceDns.ts),
   * and every address reaches what the egress socket reaches.
   */
  podNetwork?: { port?: number };
}

export interface EndpointServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** `{url}/metrics`: every namespace's series. */
  metricsUrl: string;
  /** The engine's gatewayUrl for the release in `namespace`. */
  gatewayUrl(namespace: string): string;
  /** The engine's configUrl for the release in `namespace`. */
  configUrl(namespace: string): string;
  /** The egress socket it serves, when `egressSocket` was given. */
  egressSocket?: string;
  /** http://127.0.0.1:<port>, the pod network proxy, when `podNetwork` was given. */
  podNetworkUrl?: string;
  /**
   * From now on, a connection to a pod `rule` covers, on its forwarded port, is piped to
   * `rule.to` (egressForward.ts). Only with `egressSocket`: without it nothing dials pods here.
   */
  forwardPods(rule: PodForward): void;
  stop(): Promise<void>;
}

export const gatewayPath = (namespace: string): string => `/namespaces/${encodeURIComponent(namespace)}/gateway`;
export const configPath = (namespace: string): string => `/namespaces/${encodeURIComponent(namespace)}/config`;

const DEFAULT_TIMINGS: Timings = { encodeLatencyMs: 2, encodeJitterMs: 3 };

export async function startEndpointServer(opts: EndpointServerOptions): Promise<EndpointServer> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (opts.podNetwork && !opts.egressSocket) {
    throw new Error("podNetwork needs egressSocket: the pod network reaches pods through the egress's dial, so pass both");
  }
  const models = opts.models ?? DEFAULT_MODELS;
  const kc = loadKubeConfig(opts);
  const state = new GatewayState();

  type NewPod = Parameters<typeof componentOf>[0];
  /** What scopes, moves and start delays are matched against: a new SIE pod's place and image. */
  const target = (pod: NewPod, namespace: string) => {
    const component = componentOf(pod);
    if (!component) return undefined;
    const image = parseImage(pod.spec?.containers?.[0]?.image ?? "");
    return { namespace, component, pool: poolOf(pod.metadata?.labels, component), version: image.version, image };
  };
  const podFault = (pod: NewPod, namespace: string): PodFault | undefined => {
    const t = target(pod, namespace);
    // The image tag's own fault wins over a scope, as it does for requests.
    if (!t || t.image.fault) return undefined;
    const fault = matchScope(poller.faultScopes, t)?.fault;
    return isPodFault(fault) ? fault : undefined;
  };
  const digestSalt = (pod: NewPod, namespace: string): string | undefined => {
    const t = target(pod, namespace);
    return t ? moveSalt(poller.digestMoves, namespace, t.version) : undefined;
  };
  const startSeconds = (pod: NewPod, namespace: string): number | undefined => {
    const t = target(pod, namespace);
    return t ? startSecondsFor(poller.startDelays, t) : undefined;
  };
  const pull = (pod: NewPod, namespace: string): { image: string; seconds: number } | undefined => {
    const p = pulledImageOf(pod, namespace);
    if (!p) return undefined;
    // An image that cannot be pulled fails at once (kwok plays -pullerr from the pod start), not after a pull time.
    const fault = pod.metadata?.annotations?.[FAULT_ANNOTATION] ?? parseImage(p.image).fault ?? podFault(pod, namespace);
    if (fault === "pullerr") return undefined;
    const seconds = pullSecondsFor(poller.pullTimes, p);
    return seconds === undefined ? undefined : { image: p.image, seconds };
  };
  const webhook = new FaultWebhook(kc, { podFault, digestSalt, startSeconds, pull });
  const needsWebhook = (s: StoredControls) => s.moves.length > 0 || s.starts.length > 0 || s.pulls.length > 0 || s.scopes.some((x) => isPodFault(x.fault));
  const poller = new ClusterPoller(
    kc,
    opts.intervalMs ?? POLL_INTERVAL_MS,
    (stored) => {
      // Also scopes written by someone else (kubectl, a restarted server): serve their pod faults.
      if (needsWebhook(stored)) webhook.ensure().catch((err: unknown) => log(`sie-fleet endpoints: ${(err as Error).message}`));
    },
    log,
  );
  await poller.start();
  const imagePulls = new ImagePulls(kubePullApi(kc), () => poller.current, log);

  const metrics = new EndpointMetrics({
    queueDepth: () => state.queueDepths(),
    pendingDemand: () => state.pendingDemand(),
    namespaces: () => [...poller.current.namespaces.keys()],
    workers: () =>
      [...poller.current.namespaces.keys()].flatMap((ns) =>
        view(ns)
          .workers()
          .map((w) => ({ namespace: ns, pool: w.pool, version: w.image.version, ready: w.ready })),
      ),
  });
  const kubelet = opts.egressSocket ? opts.kubelet : undefined;
  const podLogs = kubelet?.crds ? new PodLogs(kubelet.podLogsDir) : undefined;
  const requestLog = podLogs ?? NO_REQUEST_LOG;
  const gateway = new Gateway(state, metrics, models, { ...DEFAULT_TIMINGS, ...opts.timings }, requestLog);
  const view = (ns: string) => new NamespaceView(ns, poller.current.namespaces.get(ns), poller.faultScopes);

  let url = "";
  const loads = new Map<string, LoadGenerator>();
  // One change of the stored controls at a time: each starts from what the previous one wrote.
  // The webhook is registered (and called by the API server) before a change is stored, so no pod
  // is created under a new scope, move, start delay or pull time without its annotation.
  let storeChain: Promise<unknown> = Promise.resolve();
  const store = (change: (current: StoredControls) => StoredControls): Promise<StoredControls> => {
    const run = storeChain.then(async () => {
      const next = change(poller.controls);
      if (needsWebhook(next)) await webhook.ensure();
      await poller.writeControls(next);
      return next;
    });
    storeChain = run.catch(() => undefined);
    return run;
  };
  const control: ControlDeps = {
    namespaces: () => [...poller.current.namespaces.keys()].sort(),
    view,
    polledAt: () => poller.current.polledAt,
    load: (ns, create) => {
      let g = loads.get(ns);
      if (!g && create) {
        g = new LoadGenerator(() => url + gatewayPath(ns), models);
        loads.set(ns, g);
      }
      return g;
    },
    loads: () => loads,
    scopes: () => poller.faultScopes,
    changeScopes: (changes: ScopeChange[], clear: boolean) =>
      store((c) => ({ ...c, scopes: applyScopeChanges(c.scopes, changes, clear) })).then((c) => c.scopes),
    moves: () => poller.digestMoves,
    changeMoves: (changes: DigestMoveChange[], clear: boolean) =>
      store((c) => ({ ...c, moves: applyMoveChanges(c.moves, changes, clear) })).then((c) => c.moves),
    starts: () => poller.startDelays,
    changeStarts: (changes: StartDelayChange[], clear: boolean) =>
      store((c) => ({ ...c, starts: applyStartDelayChanges(c.starts, changes, clear) })).then((c) => c.starts),
    pulls: () => poller.pullTimes,
    changePulls: (changes: PullTimeChange[], clear: boolean) =>
      store((c) => ({ ...c, pulls: applyPullTimeChanges(c.pulls, changes, clear) })).then((c) => c.pulls),
    pulling: () => imagePulls.inFlight(),
  };

  // Prometheus HTTP service discovery: one target per namespace with a gateway Service, reading that
  // release's series at its gateway's /metrics, as a ServiceMonitor on the gateway Service would
  // scrape it (so `up{namespace}` exists per release).
  const scrapeTargets = () =>
    [...poller.current.namespaces.keys()].sort().flatMap((ns) =>
      view(ns)
        .services("gateway")
        .map((svc) => {
          const service = svc.metadata?.name ?? "";
          return {
            targets: [new URL(url).host],
            labels: { __metrics_path__: `${gatewayPath(ns)}/metrics`, namespace: ns, service, instance: `${ns}/${service}` },
          };
        }),
    );

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    const p = u.pathname;
    if (p === "/metrics") {
      const text = await metrics.render();
      res.writeHead(200, { "Content-Type": metrics.contentType });
      res.end(text);
      return;
    }
    if (p === "/targets") return sendJson(res, 200, scrapeTargets());
    const ns = /^\/namespaces\/([^/]+)\/(gateway|config)(\/.*)?$/.exec(p);
    if (ns) {
      const v = view(decodeURIComponent(ns[1]!));
      const sub = ns[3] && ns[3] !== "/" ? ns[3].replace(/\/+$/, "") : "/";
      if (ns[2] === "gateway") return gateway.handle(v, req, res, sub, u);
      return handleConfig(state, v, req, res, sub, requestLog);
    }
    const ctl = /^\/control(\/[^/]+)\/?$/.exec(p);
    if (ctl) return handleControl(control, req, res, ctl[1]!, u);
    sendJson(res, 404, {
      error: `no route ${req.method} ${p}: use /namespaces/<ns>/gateway/…, /namespaces/<ns>/config/…, /metrics, /targets or /control/{state,load,faults,registry,starts,pulls}`,
    });
  };
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });
  let egress: EgressProxy | undefined;
  let podNetwork: PodNetworkProxy | undefined;
  let kubeletTimer: NodeJS.Timeout | undefined;
  // Pods waiting for a pull are looked at as often as the picture changes.
  const pullTimer = setInterval(() => imagePulls.tick(), opts.intervalMs ?? POLL_INTERVAL_MS);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const forwarded = new ForwardedPods(async (namespace, labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items);
  try {
    url = await listen(server, opts.port ?? 0);
    if (opts.egressSocket) {
      const views = () => [...poller.current.namespaces.keys()].map(view);
      const net = { views, refresh: () => poller.refresh(), gateway, state, requestLog };
      const pods = dialSiePods(net, (ip, port) => forwarded.dial(ip, port));
      // The nodes' address is checked first: it is no pod's, and would cost a poll in dialSiePods.
      const dial: Dial = async (ip, port) => (kubelet && (await dialKubelet(kubelet, ip, port))) || pods(ip, port);
      egress = await startEgressProxy(opts.egressSocket, dial, log);
      if (opts.podNetwork) podNetwork = await startPodNetworkProxy(opts.podNetwork.port ?? 0, resolveInCluster(serviceReads(kc)), dial, log);
      if (podLogs && kubelet) {
        const objects = new KubeletObjects(kc, podLogs, opts.egressSocket, log);
        const sync = () => objects.sync(views().flatMap((v) => COMPONENTS.flatMap((c) => v.pods(c))));
        await sync();
        kubeletTimer = setInterval(() => void sync(), opts.intervalMs ?? POLL_INTERVAL_MS);
      }
    }
    if (needsWebhook(poller.controls)) await webhook.ensure();
  } catch (err) {
    poller.stop();
    clearInterval(pullTimer);
    imagePulls.stop();
    clearInterval(kubeletTimer);
    await podLogs?.stop();
    await podNetwork?.close();
    await egress?.close();
    await closeServer(server);
    await webhook.stop().catch(() => undefined);
    throw err;
  }

  let stopped = false;
  return {
    url,
    metricsUrl: `${url}/metrics`,
    gatewayUrl: (namespace) => url + gatewayPath(namespace),
    configUrl: (namespace) => url + configPath(namespace),
    ...(egress ? { egressSocket: egress.socketPath } : {}),
    ...(podNetwork ? { podNetworkUrl: podNetwork.url } : {}),
    forwardPods(rule) {
      if (!egress) throw new Error("forwardPods needs the egress socket (egressSocket): nothing dials pods here without it");
      forwarded.add(rule);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const g of loads.values()) g.stop();
      poller.stop();
      clearInterval(pullTimer);
      imagePulls.stop();
      clearInterval(kubeletTimer);
      await podLogs?.stop();
      await webhook.stop().catch((err: unknown) => log(`sie-fleet endpoints: could not remove the fault webhook: ${(err as Error).message}`));
      await podNetwork?.close();
      await egress?.close();
      await closeServer(server);
    },
  };
}
