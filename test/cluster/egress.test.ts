// The cluster network behind the API server (cluster/endpoints/egress.ts) without a cluster: a
// CONNECT to a pod IP over the egress socket reaches that SIE pod, answering as itself, or a
// forwarded pod's process (egressForward.ts); anything else is refused with a reason.
// test/slow/cluster/apiProxy.test.ts and clusterPrometheus.test.ts drive it through a real API server.
import * as fs from "node:fs";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialSiePods, parseAuthority, startEgressProxy, type EgressProxy } from "../../cluster/endpoints/egress.js";
import { ForwardedPods } from "../../cluster/endpoints/egressForward.js";
import { closeServer, listen } from "../../cluster/endpoints/http.js";
import { Gateway, GatewayState } from "../../cluster/endpoints/gateway.js";
import { EndpointMetrics } from "../../cluster/endpoints/metrics.js";
import { DEFAULT_MODELS } from "../../cluster/endpoints/models.js";
import { NamespaceView } from "../../cluster/endpoints/namespaceView.js";
import type { NamespaceObjects } from "../../cluster/endpoints/poller.js";

const SELECTOR = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": "sie" };

function pod(name: string, component: string, image: string, ip: string, o: { ready?: boolean; running?: boolean; pool?: string } = {}): V1Pod {
  const running = o.running !== false;
  return {
    metadata: {
      name,
      namespace: "a",
      uid: `uid-${name}`,
      labels: { ...SELECTOR, "app.kubernetes.io/component": component, ...(o.pool ? { "sie.superlinked.com/pool": o.pool } : {}) },
    },
    spec: { containers: [{ name: component, image, ports: [{ name: "http", containerPort: 8080 }] }] },
    status: {
      phase: running ? "Running" : "Pending",
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
      containerStatuses: [
        {
          name: component,
          image,
          imageID: "",
          ready: o.ready !== false,
          restartCount: 0,
          state: running ? { running: {} } : { waiting: { reason: "CrashLoopBackOff" } },
        },
      ],
    },
  };
}

const service = (component: string): V1Service => ({
  metadata: { name: `sie-${component}`, labels: { ...SELECTOR, "app.kubernetes.io/component": component } },
  spec: { selector: { ...SELECTOR, "app.kubernetes.io/component": component } },
});

interface Reply {
  status: number;
  reason: string;
  version: string | undefined;
  body: string;
}

/** CONNECT to `authority` over the socket, then `method path` through the tunnel, as the API server's proxy does. */
function throughTunnel(socketPath: string, authority: string, pathName: string, method = "GET", body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const connect = request({ socketPath, method: "CONNECT", path: authority });
    connect.on("error", reject);
    const done = (res: IncomingMessage, text: string) =>
      resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "", version: res.headers["x-sie-server-version"] as string | undefined, body: text });
    connect.on("response", (res: IncomingMessage) => {
      // A refused CONNECT answers an ordinary response.
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => done(res, text));
    });
    connect.on("connect", (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) return done(res, "");
      const inner = request({ createConnection: () => socket, method, path: pathName, headers: { host: authority } }, (r) => {
        let text = "";
        r.on("data", (c: Buffer) => (text += c.toString()));
        r.on("end", () => {
          socket.destroy();
          done(r, text);
        });
      });
      inner.on("error", reject);
      inner.end(body);
    });
    connect.end();
  });
}

describe("the egress proxy: SIE pods at their IPs", () => {
  const objects: NamespaceObjects = {
    services: [service("gateway"), service("config")],
    statefulSets: [],
    configMaps: [],
    pods: [
      pod("gw-0", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.1", "10.244.0.2"),
      pod("gw-new", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.2-5xx", "10.244.0.3", { ready: false }),
      pod("config-0", "config", "ghcr.io/superlinked/sie-config:v0.3.1", "10.244.0.4"),
      pod("w-0", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.5", { pool: "cpu" }),
      pod("w-down", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.6", { pool: "cpu", ready: false }),
      pod("w-crash", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-crashloop-cpu-default", "10.244.0.7", { pool: "cpu", ready: false, running: false }),
    ],
  };
  const state = new GatewayState();
  const metrics = new EndpointMetrics({
    queueDepth: () => state.queueDepths(),
    pendingDemand: () => state.pendingDemand(),
    workers: () => [],
    namespaces: () => ["a"],
  });
  const gateway = new Gateway(state, metrics, DEFAULT_MODELS, { encodeLatencyMs: 0, encodeJitterMs: 0 });
  let refreshes = 0;
  let dir: string;
  let proxy: EgressProxy;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-egress-"));
    const net = {
      views: () => [new NamespaceView("a", objects, [])],
      refresh: async () => void refreshes++,
      gateway,
      state,
    };
    proxy = await startEgressProxy(path.join(dir, "egress.sock"), dialSiePods(net), () => undefined);
  });
  afterAll(async () => {
    await proxy.close();
    expect(fs.existsSync(proxy.socketPath)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("parses CONNECT authorities", () => {
    expect(parseAuthority("10.244.0.5:8080")).toEqual({ host: "10.244.0.5", port: 8080 });
    expect(parseAuthority("[fd00::5]:8080")).toEqual({ host: "fd00::5", port: 8080 });
    expect(parseAuthority("10.244.0.5")).toBeUndefined();
    expect(parseAuthority("10.244.0.5:0")).toBeUndefined();
    expect(parseAuthority("/etc/passwd:1")).toBeUndefined();
  });

  it("a gateway pod answers the gateway's routes at its root, as itself", async () => {
    const r = await throughTunnel(proxy.socketPath, "10.244.0.2:8080", "/readyz");
    expect(r).toMatchObject({ status: 200, version: "0.3.1" });
    expect(JSON.parse(r.body)).toEqual({ status: "ready", healthy_workers: 1 });
    expect((await throughTunnel(proxy.socketPath, "10.244.0.2:8080", "/v1/models")).status).toBe(200);
    const enc = await throughTunnel(proxy.socketPath, "10.244.0.2:8080", "/v1/encode/BAAI%2Fbge-m3", "POST", JSON.stringify({ items: [{ text: "x" }] }));
    expect(enc).toMatchObject({ status: 200, version: "0.3.2" });
  });

  it("a gateway pod that is not Ready fails its readiness probe, and its request fault applies", async () => {
    expect(await throughTunnel(proxy.socketPath, "10.244.0.3:8080", "/readyz")).toMatchObject({ status: 503, version: "0.3.2-5xx" });
    expect(await throughTunnel(proxy.socketPath, "10.244.0.3:8080", "/healthz")).toMatchObject({ status: 200, version: "0.3.2-5xx" });
    const enc = await throughTunnel(proxy.socketPath, "10.244.0.3:8080", "/v1/encode/BAAI%2Fbge-m3", "POST", JSON.stringify({ items: [{ text: "x" }] }));
    expect(enc.status).toBe(500);
  });

  it("config and worker pods answer their own probes", async () => {
    expect(await throughTunnel(proxy.socketPath, "10.244.0.4:8080", "/healthz")).toMatchObject({ status: 200, version: "0.3.1" });
    expect(await throughTunnel(proxy.socketPath, "10.244.0.5:8080", "/readyz")).toMatchObject({ status: 200, version: "0.3.2", body: "ok" });
    expect(await throughTunnel(proxy.socketPath, "10.244.0.6:8080", "/readyz")).toMatchObject({ status: 503, body: "not ready" });
    expect(await throughTunnel(proxy.socketPath, "10.244.0.6:8080", "/healthz")).toMatchObject({ status: 200 });
    expect((await throughTunnel(proxy.socketPath, "10.244.0.5:8080", "/v1/models")).status).toBe(404);
  });

  it("refuses what would not answer: a pod not running, another port, an unknown IP (after one fresh poll)", async () => {
    const crash = await throughTunnel(proxy.socketPath, "10.244.0.7:8080", "/readyz");
    expect(crash.status).toBe(502);
    expect(crash.reason).toMatch(/pod a\/w-crash is not running/);
    expect(await throughTunnel(proxy.socketPath, "10.244.0.5:9090", "/readyz")).toMatchObject({
      status: 502,
      reason: expect.stringMatching(/does not listen on 9090/),
    });
    const before = refreshes;
    const node = await throughTunnel(proxy.socketPath, "10.240.0.1:10250", "/containerLogs/a/w-0/worker");
    expect(node.status).toBe(502);
    expect(node.reason).toMatch(/no SIE pod has IP 10.240.0.1/);
    expect(refreshes).toBe(before + 1);
    expect((await throughTunnel(proxy.socketPath, "nonsense", "/")).status).toBe(400);
  });
});

describe("the egress proxy: forwarded pods reach their process", () => {
  const prom = (name: string, ip: string, o: { running?: boolean } = {}): V1Pod => {
    const p = pod(name, "prometheus", "quay.io/prometheus/prometheus:v2.42.0", ip, { running: o.running ?? true });
    p.metadata = { name, namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" } };
    p.spec = { containers: [{ name: "prometheus", image: "quay.io/prometheus/prometheus:v2.42.0", ports: [{ name: "http", containerPort: 9090 }] }] };
    return p;
  };
  let pods: V1Pod[] = [prom("prometheus-a", "10.244.1.2"), prom("prometheus-down", "10.244.1.3", { running: false })];
  const listed: string[] = [];
  let dir: string;
  let proxy: EgressProxy;
  let backend: Server;
  let backendPort: number;
  let deadPort: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-egress-fwd-"));
    backend = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`process saw ${req.method} ${req.url}`);
    });
    backendPort = Number(new URL(await listen(backend, 0)).port);
    // A port nothing listens on: a server that was there and is gone.
    const gone = createServer();
    deadPort = Number(new URL(await listen(gone, 0)).port);
    await closeServer(gone);
    const forwarded = new ForwardedPods(async (namespace, selector) => {
      listed.push(`${namespace}?${selector}`);
      return pods;
    });
    forwarded.add({ namespace: "monitoring", labelSelector: "app.kubernetes.io/name=prometheus", port: 9090, to: { host: "127.0.0.1", port: backendPort } });
    const state = new GatewayState();
    const metrics = new EndpointMetrics({
      queueDepth: () => state.queueDepths(),
      pendingDemand: () => state.pendingDemand(),
      workers: () => [],
      namespaces: () => [],
    });
    const noSiePods = {
      views: () => [],
      refresh: async () => undefined,
      gateway: new Gateway(state, metrics, DEFAULT_MODELS, { encodeLatencyMs: 0, encodeJitterMs: 0 }),
      state,
    };
    proxy = await startEgressProxy(
      path.join(dir, "egress.sock"),
      dialSiePods(noSiePods, (ip, port) => forwarded.dial(ip, port)),
      () => undefined,
    );
  });
  afterAll(async () => {
    await proxy.close();
    await closeServer(backend);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a running forwarded pod's port is piped to its process, which sees the request as sent", async () => {
    const r = await throughTunnel(proxy.socketPath, "10.244.1.2:9090", "/api/v1/query?query=up");
    expect(r).toMatchObject({ status: 200, body: "process saw GET /api/v1/query?query=up" });
    expect(listed.at(-1)).toBe("monitoring?app.kubernetes.io/name=prometheus");
  });

  it("refused as any pod would be: not running, a port it does not declare, its process gone, an IP no pod has", async () => {
    expect((await throughTunnel(proxy.socketPath, "10.244.1.3:9090", "/-/ready")).reason).toMatch(/pod monitoring\/prometheus-down is not running/);
    expect((await throughTunnel(proxy.socketPath, "10.244.1.2:8080", "/-/ready")).reason).toMatch(/does not listen on 8080 \(container ports: 9090\)/);
    expect((await throughTunnel(proxy.socketPath, "10.244.1.9:9090", "/-/ready")).reason).toMatch(/no SIE pod has IP 10.244.1.9/);
    const before = pods;
    pods = [prom("prometheus-a", "10.244.1.2")];
    try {
      const forwardedDead = new ForwardedPods(async () => pods);
      forwardedDead.add({ namespace: "monitoring", labelSelector: "x=y", port: 9090, to: { host: "127.0.0.1", port: deadPort } });
      const r = await forwardedDead.dial("10.244.1.2", 9090);
      expect(r).toEqual({
        refused: expect.stringMatching(/^connection refused: pod monitoring\/prometheus-a's process at 127.0.0.1:\d+ does not accept \(connect ECONNREFUSED/),
      });
    } finally {
      pods = before;
    }
  });
});
