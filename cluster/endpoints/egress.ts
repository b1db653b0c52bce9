/**
 * The cluster network as the API server sees it. The control plane's EgressSelectorConfiguration
 * sends every connection the API server opens into the cluster (pod proxy, service proxy, and the
 * kubelet calls behind logs, exec and port-forward) as `CONNECT <ip>:<port>` over one Unix socket;
 * this is the HTTP CONNECT proxy on that socket.
 *
 * Which address answers, and how, is `dial`'s decision (dialSiePods: the SIE pod with that IP,
 * as that pod would; else a forwarded pod, egressForward.ts: the cluster's own Prometheus, whose
 * real process is beside the control plane; the nodes' kubelet port is kwok's server, also
 * egressForward.ts). A refused dial is answered `502 <reason>`: the API
 * server then fails the request with that reason as a dial error, as it would for a pod that does
 * not listen. An accepted one is answered `200`, then either piped to the forwarded pod's process,
 * or handed to an HTTP server whose every request asks `dial` again, so an SIE pod that stops
 * between two requests of a kept-alive connection drops it.
 *
 * The same proxy on a TCP port of 127.0.0.1 is the pod network for processes beside the control
 * plane (startPodNetworkProxy): they have no cluster DNS and no kube-proxy, so it resolves Service
 * names and ClusterIPs first (serviceDns.ts), and also takes the absolute-form requests an HTTP
 * client sends through HTTP_PROXY (egressRelay.ts relays them over a pipe).
 */
import * as fs from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import * as path from "node:path";
import { handleConfigPod } from "./config.js";
import { workerProbe, type Gateway, type GatewayState } from "./gateway.js";
import { absoluteUrl, refuseRequest, relayRequest } from "./egressRelay.js";
import { closeServer, listen, sendJson } from "./http.js";
import type { NamespaceView } from "./namespaceView.js";
import type { RequestLog } from "./podLogs.js";
import type { PodTarget, Resolve } from "./serviceDns.js";
import { COMPONENTS, type SiePod } from "./view.js";

/**
 * What answers at one address: a request handler (`path` without trailing slashes, "/" at the
 * root), a connection to pipe the tunnel into, or why nothing does.
 */
export type DialResult =
  | { serve: (req: IncomingMessage, res: ServerResponse, path: string, url: URL) => Promise<void> }
  | { pipe: Socket }
  | { refused: string };
/** What answers for a pod that is not an SIE pod; undefined when no such pod has the IP either. */
export type DialOthers = (host: string, port: number) => Promise<DialResult | undefined>;
export type Dial = (host: string, port: number) => Promise<DialResult>;

export interface EgressProxy {
  socketPath: string;
  close(): Promise<void>;
}

export interface PodNetworkProxy {
  /** http://127.0.0.1:<port>: what a process gets as HTTP_PROXY and HTTPS_PROXY. */
  url: string;
  close(): Promise<void>;
}

/** What the SIE pods of the cluster need to answer at their IPs. */
export interface PodNetwork {
  /** Every namespace's current picture. */
  views(): NamespaceView[];
  /** Polls now: the API server may dial a pod before the last poll saw it. */
  refresh(): Promise<void>;
  gateway: Gateway;
  state: GatewayState;
  /** Where config and worker pods' answers are logged (the gateway logs its own). */
  requestLog?: RequestLog;
}

/**
 * What a connection to `ip:port` reaches: the SIE pod with that IP when it runs and declares that
 * container port, answering as itself: a gateway pod the gateway's routes, a config pod the
 * config service's, a worker its probes. An IP no SIE pod has goes to `others` (forwarded pods);
 * anything else (other pods, nodes) is refused.
 */
export function dialSiePods(net: PodNetwork, others?: DialOthers): Dial {
  const podAt = (ip: string): { v: NamespaceView; pod: SiePod } | undefined => {
    for (const v of net.views()) {
      for (const c of COMPONENTS) {
        const pod = v.pods(c).find((p) => p.ips.includes(ip));
        if (pod) return { v, pod };
      }
    }
    return undefined;
  };
  return async (ip, port) => {
    let found = podAt(ip);
    if (!found) {
      await net.refresh();
      found = podAt(ip);
    }
    if (!found) {
      const other = await others?.(ip, port);
      return other ?? { refused: `no SIE pod has IP ${ip}` };
    }
    const { v, pod } = found;
    const name = `pod ${pod.namespace}/${pod.name}`;
    if (!pod.ports.includes(port))
      return { refused: `connection refused: ${name} does not listen on ${port} (container ports: ${pod.ports.join(", ") || "none"})` };
    if (!pod.started) return { refused: `connection refused: ${name} is not running` };
    if (pod.component === "gateway") return { serve: (req, res, p, u) => net.gateway.handlePod(v, pod, req, res, p, u) };
    if (pod.component === "config") return { serve: (req, res, p) => handleConfigPod(net.state, pod, req, res, p, net.requestLog) };
    return {
      serve: async (req, res, p) => {
        net.requestLog?.answered(pod, req, res, p);
        workerProbe(pod, res, p.slice(1));
      },
    };
  };
}

/** Joins a tunnel to a connection: bytes both ways, and either end closing closes the other. */
function splice(tunnel: Socket, upstream: Socket, head: Buffer): void {
  if (head.length > 0) upstream.write(head);
  tunnel.pipe(upstream);
  upstream.pipe(tunnel);
  upstream.on("error", () => undefined);
  tunnel.on("close", () => upstream.destroy());
  upstream.on("close", () => tunnel.destroy());
}

/** sockaddr_un's sun_path is 108 bytes on Linux (104 on macOS), including the terminating NUL. */
const MAX_SOCKET_PATH = process.platform === "linux" ? 107 : 103;

/** `10.244.0.5:8080` or `[fd00::5]:8080` → host and port; undefined when it is not such an authority. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+)):(\d{1,5})$/.exec(authority);
  const port = Number(m?.[3]);
  if (!m || !(port > 0 && port < 65536)) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

const hostPort = (t: PodTarget): string => `${t.ip.includes(":") ? `[${t.ip}]` : t.ip}:${t.port}`;
/** A handler's `path`: without trailing slashes, "/" at the root. */
const handlerPath = (url: URL): string => (url.pathname === "/" ? "/" : url.pathname.replace(/\/+$/, "") || "/");

/**
 * The proxy both variants share. Without `resolve` (the API server's egress) the CONNECT host is
 * dialled as it is; with it (the pod network) names and ClusterIPs are resolved first and
 * absolute-form `http://` requests are relayed too.
 */
function proxyServer(dial: Dial, log: (line: string) => void, resolve?: Resolve): { outer: Server; close(): Promise<void> } {
  const targets = new WeakMap<Socket, PodTarget>();
  const tunnels = new Set<Socket>();
  /** Where `host:port` leads (the address asked, when resolution refuses it) and what answers there. */
  const reach = async (host: string, port: number): Promise<{ target: PodTarget; result: DialResult }> => {
    const resolved = resolve ? await resolve(host, port) : { ip: host, port };
    if ("refused" in resolved) return { target: { ip: host, port }, result: resolved };
    return { target: resolved, result: await dial(resolved.ip, resolved.port) };
  };
  const failed = (res: ServerResponse) => (err: unknown) => {
    if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    else res.end();
  };

  const inner = createServer((req, res) => {
    const target = targets.get(req.socket);
    if (!target) return void req.socket.destroy();
    const url = new URL(req.url ?? "/", `http://${hostPort(target)}`);
    dial(target.ip, target.port)
      .then((r) => {
        // Gone since the tunnel opened (or no longer an SIE pod's address): a real connection would be reset.
        if (!("serve" in r)) {
          if ("pipe" in r) r.pipe.destroy();
          return void req.socket.destroy();
        }
        return r.serve(req, res, handlerPath(url), url);
      })
      .catch(failed(res));
  });

  /** An absolute-form request (`GET http://host:port/path?q`, what a client sends through HTTP_PROXY). */
  const relayAbsolute = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const port = Number(url.port || 80);
    const asked = `${url.hostname}:${port}`;
    reach(url.hostname, port)
      .then(
        ({ target, result }) => {
          if ("refused" in result) return refuseRequest(res, result.refused);
          if ("pipe" in result) return relayRequest(req, res, result.pipe, url, hostPort(target));
          // Re-targeted at the pod, as the request a connection to it would carry.
          const at = new URL(url.pathname + url.search, `http://${hostPort(target)}`);
          req.url = at.pathname + at.search;
          return result.serve(req, res, handlerPath(at), at);
        },
        (err: unknown) => {
          log(`sie-fleet endpoints: pod network dial ${asked} failed: ${err instanceof Error ? err.message : String(err)}`);
          refuseRequest(res, `${asked}: dial failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      )
      .catch(failed(res));
  };

  const outer = createServer((req, res) => {
    if (resolve) {
      const url = absoluteUrl(req.url);
      if (url) return relayAbsolute(req, res, url);
      return sendJson(res, 400, {
        error: `this is the cluster's pod network proxy: use it as HTTP_PROXY (absolute-form http:// requests) or HTTPS_PROXY (CONNECT <host>:<port>), got ${req.method} ${JSON.stringify(req.url)}`,
      });
    }
    sendJson(res, 405, { error: "this is the cluster's egress proxy: only CONNECT <ip>:<port>" });
  });
  outer.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => undefined);
    const refuse = (code: number, reason: string): void => {
      // The reason phrase is what the API server quotes in its dial error; no line breaks allowed there.
      const phrase = reason.replace(/[\r\n]+/g, " ");
      socket.end(`HTTP/1.1 ${code} ${phrase}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    const asked = parseAuthority(req.url ?? "");
    if (!asked) return refuse(400, `CONNECT needs <${resolve ? "host" : "ip"}>:<port>, got ${JSON.stringify(req.url)}`);
    reach(asked.host, asked.port)
      .then(({ target, result: r }) => {
        if ("refused" in r) return refuse(502, r.refused);
        if (socket.destroyed) {
          if ("pipe" in r) r.pipe.destroy();
          return;
        }
        socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
        tunnels.add(socket);
        socket.on("close", () => tunnels.delete(socket));
        if ("pipe" in r) return splice(socket, r.pipe, head);
        if (head.length > 0) socket.unshift(head);
        targets.set(socket, target);
        inner.emit("connection", socket);
      })
      .catch((err: unknown) => {
        log(`sie-fleet endpoints: egress dial ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`);
        refuse(502, `dial failed: ${err instanceof Error ? err.message : String(err)}`);
      });
  });

  return {
    outer,
    async close() {
      for (const s of tunnels) s.destroy();
      inner.closeAllConnections();
      await closeServer(outer);
    },
  };
}

export async function startEgressProxy(socketPath: string, dial: Dial, log: (line: string) => void): Promise<EgressProxy> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(
      `the egress socket ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes, the limit of a Unix socket address: use a cluster directory with a shorter path`,
    );
  }
  const proxy = proxyServer(dial, log);
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  // A socket file left by a server that was killed: nothing listens on it any more.
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    proxy.outer.once("error", reject);
    proxy.outer.listen(socketPath, () => {
      proxy.outer.off("error", reject);
      resolve();
    });
  });
  // Only the API server (same user) has any business dialling pods.
  fs.chmodSync(socketPath, 0o600);

  return {
    socketPath,
    async close() {
      await proxy.close();
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/**
 * The pod network as a pod sees it, for processes beside the control plane: an HTTP proxy on
 * 127.0.0.1:`port` (0: a free one) that resolves names and ClusterIPs with `resolve`
 * (serviceDns.ts) and reaches the pod through `dial`, the same as the API server's egress.
 */
export async function startPodNetworkProxy(port: number, resolve: Resolve, dial: Dial, log: (line: string) => void): Promise<PodNetworkProxy> {
  const proxy = proxyServer(dial, log, resolve);
  const url = await listen(proxy.outer, port);
  return { url, close: () => proxy.close() };
}
