// The pod network proxy (cluster/endpoints/egress.ts startPodNetworkProxy) without a cluster: a
// fake resolver and Dial stand for serviceDns.ts and the endpoint server's dial, and a small HTTP
// server for a forwarded pod's real process. What a process given HTTP_PROXY/HTTPS_PROXY sends:
// absolute-form requests and CONNECT.
import { Agent, createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server } from "node:http";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPodNetworkProxy, type Dial, type PodNetworkProxy } from "../../cluster/endpoints/egress.js";
import { closeServer, listen, readBody, sendJson } from "../../cluster/endpoints/http.js";
import { startEndpointServer } from "../../cluster/endpoints/server.js";
import type { Resolve } from "../../cluster/endpoints/serviceDns.js";

interface Reply {
  status: number;
  reason: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const collect = (res: IncomingMessage): Promise<Reply> =>
  new Promise((resolve, reject) => {
    let body = "";
    res.on("data", (c: Buffer) => (body += c.toString()));
    res.on("error", reject);
    res.on("end", () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "", headers: res.headers, body }));
  });

describe("the pod network proxy", () => {
  let backend: Server;
  let backendPort: number;
  let hangup: net.Server;
  let hangupPort: number;
  let proxy: PodNetworkProxy;
  let proxyPort: number;
  const dialled: string[] = [];
  const logged: string[] = [];

  beforeAll(async () => {
    // The forwarded pod's process: says what it received.
    backend = createServer(async (req, res) => {
      const body = await readBody(req);
      res.writeHead(201, "Made Here", { "content-type": "text/plain", "x-from": "process", "keep-alive": "timeout=99" });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
    backendPort = Number(new URL(await listen(backend, 0)).port);
    // A process that takes the connection and drops it at the first byte.
    hangup = net.createServer((s) => s.once("data", () => s.destroy()));
    await new Promise<void>((ok) => hangup.listen(0, "127.0.0.1", ok));
    hangupPort = (hangup.address() as net.AddressInfo).port;

    const resolve: Resolve = async (host, port) => {
      const at: Record<string, { ip: string; port: number }> = {
        "gw.sie.svc:80": { ip: "10.244.0.2", port: 8080 },
        "prometheus.monitoring.svc.cluster.local:9090": { ip: "10.244.1.2", port: 9090 },
        "10.244.1.2:9090": { ip: "10.244.1.2", port: 9090 },
      };
      const t = at[`${host}:${port}`];
      if (host === "boom.sie.svc") throw new Error("the API server did not answer");
      if (!t && net.isIP(host)) return { ip: host, port };
      return t ?? { refused: `${host}: not a name in the cluster (the embedded cluster has no route out)` };
    };
    const dial: Dial = async (ip, port) => {
      dialled.push(`${ip}:${port}`);
      if (ip === "10.244.0.2" && port === 8080) {
        return {
          serve: async (req, res, path, url) => {
            sendJson(res, 200, { answeredBy: "gateway pod", path, href: url.href, reqUrl: req.url, host: req.headers.host, body: await readBody(req) });
          },
        };
      }
      if ((ip === "10.244.1.2" || ip === "10.244.1.3") && port === 9090) {
        const s = net.connect({ host: "127.0.0.1", port: ip === "10.244.1.2" ? backendPort : hangupPort });
        await new Promise((ok) => s.once("connect", ok));
        return { pipe: s };
      }
      return { refused: `no pod has IP ${ip}` };
    };
    proxy = await startPodNetworkProxy(0, resolve, dial, (l) => logged.push(l));
    proxyPort = Number(new URL(proxy.url).port);
  });
  afterAll(async () => {
    await proxy.close();
    await closeServer(backend);
    await new Promise((ok) => hangup.close(ok));
  });

  /** `method url` in absolute form, as an HTTP client configured with HTTP_PROXY sends it. */
  const viaProxy = (url: string, o: { method?: string; headers?: OutgoingHttpHeaders; body?: string; agent?: Agent } = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: proxyPort, method: o.method ?? "GET", path: url, headers: { host: new URL(url).host, ...o.headers }, agent: o.agent },
        (res) => collect(res).then(resolve, reject),
      );
      req.on("error", reject);
      req.end(o.body);
    });

  it("listens on 127.0.0.1", () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("an absolute-form request reaches a pod answered in process, re-targeted at the pod", async () => {
    const r = await viaProxy("http://gw.sie.svc/v1/encode/m/?pool=l4", { method: "POST", body: '{"items":[]}' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      answeredBy: "gateway pod",
      path: "/v1/encode/m",
      href: "http://10.244.0.2:8080/v1/encode/m/?pool=l4",
      reqUrl: "/v1/encode/m/?pool=l4",
      host: "gw.sie.svc",
      body: '{"items":[]}',
    });
    expect(dialled.at(-1)).toBe("10.244.0.2:8080");
  });

  it("an absolute-form request through a pipe reaches the process as origin-form, its answer comes back whole", async () => {
    const r = await viaProxy("http://prometheus.monitoring.svc.cluster.local:9090/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time=1", {
      headers: { "proxy-connection": "keep-alive", "proxy-authorization": "Basic eDp5", "x-scaler": "keda", connection: "keep-alive, x-drop", "x-drop": "1" },
    });
    expect(r).toMatchObject({ status: 201, reason: "Made Here" });
    expect(r.headers["x-from"]).toBe("process");
    // Its hop-by-hop headers stay on its hop (the proxy's own connection has its own).
    expect(r.headers["keep-alive"]).not.toBe("timeout=99");
    const seen = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string> };
    expect(seen.method).toBe("GET");
    expect(seen.url).toBe("/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time=1");
    expect(seen.headers.host).toBe("prometheus.monitoring.svc.cluster.local:9090");
    expect(seen.headers["x-scaler"]).toBe("keda");
    for (const h of ["proxy-connection", "proxy-authorization", "x-drop"]) expect(seen.headers[h]).toBeUndefined();
  });

  it("a POST body goes through the pipe too", async () => {
    const r = await viaProxy("http://prometheus.monitoring.svc.cluster.local:9090/api/v1/query", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "query=up",
    });
    expect(JSON.parse(r.body)).toMatchObject({ method: "POST", url: "/api/v1/query", body: "query=up" });
  });

  it("a kept-alive proxy connection carries requests for different pods", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await viaProxy("http://prometheus.monitoring.svc.cluster.local:9090/-/ready", { agent });
      const b = await viaProxy("http://gw.sie.svc/healthz", { agent });
      const c = await viaProxy("http://prometheus.monitoring.svc.cluster.local:9090/-/healthy", { agent });
      expect([a.status, b.status, c.status]).toEqual([201, 200, 201]);
      expect(JSON.parse(c.body).url).toBe("/-/healthy");
    } finally {
      agent.destroy();
    }
  });

  it("CONNECT to a name is resolved, then piped to the process", async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const connect = request({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: "prometheus.monitoring.svc.cluster.local:9090" });
      connect.on("error", reject);
      connect.on("connect", (res: IncomingMessage, socket: net.Socket) => {
        if (res.statusCode !== 200) return reject(new Error(`CONNECT ${res.statusCode} ${res.statusMessage}`));
        const inner = request(
          { createConnection: () => socket, path: "/api/v1/query?query=up", headers: { host: "prometheus.monitoring.svc.cluster.local:9090" } },
          (ans) =>
            collect(ans).then((x) => {
              socket.destroy();
              resolve(x);
            }, reject),
        );
        inner.on("error", reject);
        inner.end();
      });
      connect.end();
    });
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body)).toMatchObject({ method: "GET", url: "/api/v1/query?query=up" });
  });

  it("a refusal is 502 with the reason as status text and body, for absolute-form and CONNECT alike", async () => {
    const r = await viaProxy("http://example.com/");
    expect(r).toMatchObject({
      status: 502,
      reason: "example.com: not a name in the cluster (the embedded cluster has no route out)",
      body: "example.com: not a name in the cluster (the embedded cluster has no route out)\n",
    });
    const dial = await viaProxy("http://10.244.9.9:8080/");
    expect(dial).toMatchObject({ status: 502, reason: "no pod has IP 10.244.9.9", body: "no pod has IP 10.244.9.9\n" });
    const connect = await new Promise<{ status: number; reason: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: "example.com:443" });
      req.on("error", reject);
      req.on("connect", (res: IncomingMessage, socket: net.Socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "" });
      });
      req.on("response", (res: IncomingMessage) => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "" }));
      req.end();
    });
    expect(connect).toEqual({ status: 502, reason: "example.com: not a name in the cluster (the embedded cluster has no route out)" });
  });

  it("a pipe whose process hangs up before answering is a 502 naming the address", async () => {
    const r = await viaProxy("http://10.244.1.3:9090/api/v1/query?query=up");
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/^10\.244\.1\.3:9090: the connection to 10\.244\.1\.3:9090 failed: /);
  });

  it("needs the egress socket in the endpoint server", async () => {
    await expect(startEndpointServer({ kubeconfigPath: "/nonexistent/kubeconfig", podNetwork: {} })).rejects.toThrow(/podNetwork needs egressSocket/);
  });

  it("a failed lookup is a 502 naming it and is logged; an origin-form request is told what the proxy is", async () => {
    const r = await viaProxy("http://boom.sie.svc/x");
    expect(r).toMatchObject({ status: 502, body: "boom.sie.svc:80: dial failed: the API server did not answer\n" });
    expect(logged.at(-1)).toMatch(/pod network dial boom.sie.svc:80 failed/);
    const direct = await new Promise<Reply>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxyPort, path: "/metrics" }, (res) => collect(res).then(resolve, reject));
      req.on("error", reject);
      req.end();
    });
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.body).error).toMatch(/use it as HTTP_PROXY .* or HTTPS_PROXY/);
  });
});
