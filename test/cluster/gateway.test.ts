// The SIE endpoints of one namespace answered from a fixed picture of its objects (no cluster):
// Service endpoints, routing, pool pinning, request faults and the namespace label on metrics.
// test/slow/cluster/endpoints.test.ts runs the same server against a real control plane.
import { createServer, type Server } from "node:http";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleConfig } from "../../cluster/endpoints/config.js";
import type { FaultScope } from "../../cluster/endpoints/faultScopes.js";
import { Gateway, GatewayState } from "../../cluster/endpoints/gateway.js";
import { closeServer, listen } from "../../cluster/endpoints/http.js";
import { EndpointMetrics } from "../../cluster/endpoints/metrics.js";
import { DEFAULT_MODELS } from "../../cluster/endpoints/models.js";
import { NamespaceView } from "../../cluster/endpoints/namespaceView.js";
import type { NamespaceObjects } from "../../cluster/endpoints/poller.js";
import { FAULT_ANNOTATION } from "../../cluster/faults.js";

const SELECTOR = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": "sie" };

function pod(
  name: string,
  component: string,
  image: string,
  o: { ready?: boolean; pool?: string; annotations?: Record<string, string>; namespace?: string } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: o.namespace ?? "a",
      uid: `uid-${o.namespace ?? "a"}-${name}`,
      labels: {
        ...SELECTOR,
        "app.kubernetes.io/component": component,
        ...(o.pool ? { "sie.superlinked.com/pool": o.pool, "sie.superlinked.com/gpu-type": o.pool } : {}),
      },
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: { containers: [{ name: component, image }], subdomain: "sie-sie-cluster-worker" },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
      containerStatuses: [{ name: component, image, imageID: "", ready: o.ready !== false, restartCount: 0, state: { running: {} } }],
    },
  };
}

const service = (component: string): V1Service => ({
  metadata: { name: `sie-${component}`, labels: { ...SELECTOR, "app.kubernetes.io/component": component } },
  spec: { selector: { ...SELECTOR, "app.kubernetes.io/component": component } },
});
const worker = (name: string, pool: string, tag: string, o: Parameters<typeof pod>[3] = {}) =>
  pod(name, "worker", `ghcr.io/superlinked/sie-server:${tag}-cuda12-default`, { ...o, pool });

describe("gateway and config of one namespace", () => {
  const objects: Record<string, NamespaceObjects> = {
    a: {
      services: [service("gateway"), service("config")],
      statefulSets: [],
      configMaps: [],
      pods: [
        pod("gw-0", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.1"),
        pod("gw-old", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.0", { ready: false }),
        pod("config-0", "config", "ghcr.io/superlinked/sie-config:v0.3.1-5xx"),
        worker("ok-0", "ok", "v0.3.2"),
        worker("err10-0", "err10", "v0.3.2-errors10"),
        worker("forced-0", "forced", "v0.3.2", { annotations: { [FAULT_ANNOTATION]: "5xx" } }),
        worker("scoped-0", "scoped", "v0.3.2"),
        worker("podscoped-0", "podscoped", "v0.3.2"),
        worker("down-0", "down", "v0.3.2", { ready: false }),
      ],
    },
    // A gateway with no Ready pod, and one namespace without Services at all.
    b: {
      services: [service("gateway")],
      statefulSets: [],
      configMaps: [],
      pods: [pod("gw-0", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.1", { ready: false, namespace: "b" })],
    },
    c: { services: [], statefulSets: [], configMaps: [], pods: [pod("gw-0", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.1", { namespace: "c" })] },
  };
  const scopes: FaultScope[] = [
    { namespace: "a", component: "worker", pool: "scoped", version: "v0.3.2", fault: "5xx" },
    // A pod fault reaches pods through their annotation at creation, never live.
    { namespace: "a", component: "worker", pool: "podscoped", version: "v0.3.2", fault: "noready" },
  ];
  const state = new GatewayState();
  const metrics = new EndpointMetrics({
    queueDepth: () => state.queueDepths(),
    pendingDemand: () => state.pendingDemand(),
    workers: () => [],
    namespaces: () => Object.keys(objects),
  });
  const gateway = new Gateway(state, metrics, DEFAULT_MODELS, { encodeLatencyMs: 0, encodeJitterMs: 0 });
  let server: Server;
  let url = "";

  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const [, ns, what, ...rest] = u.pathname.split("/");
      const view = new NamespaceView(ns!, objects[ns!], scopes);
      const sub = `/${rest.join("/")}`;
      void (what === "gateway" ? gateway.handle(view, req, res, sub, u) : handleConfig(state, view, req, res, sub));
    });
    url = await listen(server, 0);
  });
  afterAll(async () => {
    await closeServer(server);
  });

  const encode = (ns: string, pool?: string) =>
    fetch(`${url}/${ns}/gateway/v1/encode/BAAI%2Fbge-m3`, {
      method: "POST",
      headers: pool ? { "X-SIE-Pool": pool } : {},
      body: JSON.stringify({ items: [{ text: "x" }] }),
    });

  it("answers through the Ready pods behind the Service, with their version", async () => {
    const r = await fetch(`${url}/a/gateway/readyz`);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-sie-server-version")).toBe("0.3.1");
    expect(await r.json()).toEqual({ status: "ready", healthy_workers: 5 });
    const models = (await (await fetch(`${url}/a/gateway/v1/models`)).json()) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name)).toContain("BAAI/bge-m3");
  });

  it("is unavailable, without a version, when no gateway pod is Ready or there is no Service", async () => {
    for (const ns of ["b", "c"]) {
      const r = await fetch(`${url}/${ns}/gateway/readyz`);
      expect(r.status).toBe(503);
      expect(r.headers.get("x-sie-server-version")).toBeNull();
    }
    expect(((await (await fetch(`${url}/c/gateway/healthz`)).json()) as { message: string }).message).toMatch(
      /no Service labelled app.kubernetes.io\/component=gateway/,
    );
  });

  it("routes encodes to the pinned pool and reports the worker's and the gateway's versions", async () => {
    const r = await encode("a", "ok");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-sie-pool")).toBe("ok");
    expect(r.headers.get("x-sie-server-version")).toBe("0.3.2");
    expect(r.headers.get("x-sie-gateway-version")).toBe("0.3.1");
    expect((await encode("a", "down")).status).toBe(202);
  });

  it("applies request faults from the tag, the annotation and a scope; not pod faults from scopes", async () => {
    const codes = async (pool: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await encode("a", pool)).status);
      return out;
    };
    expect((await codes("err10", 20)).filter((c) => c === 500)).toHaveLength(2);
    expect(await codes("forced", 3)).toEqual([500, 500, 500]);
    expect(await codes("scoped", 3)).toEqual([500, 500, 500]);
    expect(await codes("podscoped", 3)).toEqual([200, 200, 200]);
  });

  it("worker probes follow the pod's readiness", async () => {
    expect((await fetch(`${url}/a/gateway/workers/ok-0/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/a/gateway/workers/down-0/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/a/gateway/workers/down-0/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/a/gateway/workers/nope/readyz`)).status).toBe(404);
  });

  it("the config service answers with its pod's version and request fault", async () => {
    const r = await fetch(`${url}/a/config/healthz`);
    expect(r.status).toBe(500);
    expect(r.headers.get("x-sie-server-version")).toBe("0.3.1-5xx");
    expect((await fetch(`${url}/b/config/healthz`)).status).toBe(503);
  });

  it("metrics carry the namespace; a namespace's /metrics holds only its own series", async () => {
    const all = await metrics.render();
    expect(all).toMatch(/sie_gateway_requests_total\{namespace="a",pool="ok",status="200",version="0.3.2",model="BAAI\/bge-m3",endpoint="encode"\} \d+/);
    expect(all).toContain('sie_gateway_active_lease_gpus{namespace="b"} 0');
    const a = await (await fetch(`${url}/a/gateway/metrics`)).text();
    expect(a).toContain('namespace="a"');
    expect(a).not.toContain('namespace="b"');
    expect(a).toContain("# TYPE sie_gateway_requests_total counter");
  });
});
