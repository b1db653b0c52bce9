// The API-server path to in-cluster Services: proxy URLs, telling the API server's own refusals
// from the Service's answers, and plain fetch for URLs that are not the API server's.
import { getEventListeners } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiServerRefusal, kubeFetch, serviceOfProxyUrl, serviceProxyUrl } from "../../automation/kube/apiProxy.js";

const status = (code: number, message: string) => JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code });

describe("service proxy URLs", () => {
  it("names the Service and port as kubectl get --raw would, and reads them back", () => {
    const url = serviceProxyUrl("https://10.0.0.1:6443/", { namespace: "sie", name: "sie-gateway", port: "http" });
    expect(url).toBe("https://10.0.0.1:6443/api/v1/namespaces/sie/services/sie-gateway:http/proxy");
    expect(serviceOfProxyUrl(`${url}/readyz`)).toEqual({ namespace: "sie", name: "sie-gateway", port: "http" });
    expect(serviceOfProxyUrl(serviceProxyUrl("https://h", { namespace: "monitoring", name: "prometheus-operated", port: 9090 }))).toEqual({
      namespace: "monitoring",
      name: "prometheus-operated",
      port: 9090,
    });
    expect(serviceOfProxyUrl("http://127.0.0.1:9090/-/ready")).toBeUndefined();
  });
});

describe("apiServerRefusal", () => {
  it("reads the API server's Status bodies", () => {
    expect(apiServerRefusal(403, status(403, 'services "sie-gateway" is forbidden: User "ci" cannot get resource "services/proxy"'))).toMatchObject({
      reason: "forbidden",
    });
    expect(apiServerRefusal(404, status(404, 'services "sie-gateway" not found'))).toMatchObject({ reason: "no-service" });
    expect(apiServerRefusal(503, status(503, 'no endpoints available for service "sie-gateway"'))).toMatchObject({ reason: "no-endpoints" });
    expect(apiServerRefusal(502, status(502, "error trying to reach service: dial tcp 10.244.0.9:8080: connect: connection refused"))).toMatchObject({
      reason: "unreachable",
    });
  });

  it("leaves the Service's own answers alone, whatever their status", () => {
    expect(apiServerRefusal(503, JSON.stringify({ status: "unavailable" }))).toBeUndefined();
    expect(apiServerRefusal(500, "internal error")).toBeUndefined();
    expect(apiServerRefusal(200, status(200, "ok"))).toBeUndefined();
  });
});

/** A kubeconfig naming `server`, with a bearer token (client-node wants skipTLSVerify for plain HTTP). */
function kubeconfig(server: string, token: string, skipTLSVerify: boolean): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify }],
    users: [{ name: "u", token }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("kubeFetch", () => {
  it("fetches URLs that are not the API server's as they are", async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { "x-seen-auth": String(req.headers.authorization ?? "none") });
      res.end("plain");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const kc = kubeconfig("https://127.0.0.1:1", "secret-token", false);
    try {
      const r = await kubeFetch(kc)(`http://127.0.0.1:${port}/`);
      expect(await r.text()).toBe("plain");
      // The kubeconfig's credentials never go to an address that is not its API server.
      expect(r.headers.get("x-seen-auth")).toBe("none");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("sends the kubeconfig's credentials to its API server, method, body and headers intact", async () => {
    const seen: { method?: string; url?: string; auth?: string; body?: string; type?: string } = {};
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        Object.assign(seen, { method: req.method, url: req.url, auth: req.headers.authorization, body, type: req.headers["content-type"] });
        res.writeHead(503, { "x-sie-server-version": "0.3.1" });
        res.end(JSON.stringify({ status: "unavailable" }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    // An API server on plain HTTP, as `kubectl proxy` serves it (client-node insists on
    // insecure-skip-tls-verify for one).
    const kc = kubeconfig(`http://127.0.0.1:${port}`, "t0ken", true);
    try {
      const base = serviceProxyUrl(`http://127.0.0.1:${port}`, { namespace: "sie", name: "sie-gateway", port: "http" });
      const r = await kubeFetch(kc)(`${base}/v1/encode/m?x=1`, { method: "POST", body: '{"items":[]}', headers: { "content-type": "application/json" } });
      expect(r.status).toBe(503);
      expect(r.headers.get("x-sie-server-version")).toBe("0.3.1");
      expect(await r.json()).toEqual({ status: "unavailable" });
      expect(seen).toEqual({
        method: "POST",
        url: "/api/v1/namespaces/sie/services/sie-gateway:http/proxy/v1/encode/m?x=1",
        auth: "Bearer t0ken",
        body: '{"items":[]}',
        type: "application/json",
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("lets go of the caller's signal once a request ends, so a run-long signal gathers no listeners", async () => {
    const server = createServer((_req, res) => res.end("{}"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const kc = kubeconfig(`http://127.0.0.1:${port}`, "t", true);
    const run = new AbortController();
    try {
      const get = kubeFetch(kc);
      for (let i = 0; i < 12; i++) await (await get(`http://127.0.0.1:${port}/api/v1/namespaces`, { signal: run.signal })).text();
      // A closed request's listener goes with it (node reports the count through getEventListeners).
      await new Promise((r) => setImmediate(r));
      expect(getEventListeners(run.signal, "abort")).toHaveLength(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
