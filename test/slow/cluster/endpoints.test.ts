// The SIE endpoint server (cluster/endpoints) beside a real control plane: it answers each
// namespace's gateway and config as that release's Ready pods would, executes request faults,
// lets kwok execute pod faults (image tag, or the annotation its webhook sets for a scope), and
// labels every metric with the namespace. Releases are the real chart installed by helm (sieRelease.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FAULT_SCOPES_OBJECT, startEndpointServer, WEBHOOK_CONFIGURATION, type EndpointServer, type LoadStatus } from "../../../cluster/endpoints/index.js";
import { FAULT_ANNOTATION, parseImage } from "../../../cluster/faults.js";
import { prometheusUnavailable, startPrometheus, waitForSeries } from "../../../cluster/prometheus.js";
import { startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { waitFor } from "../../../cluster/procs.js";
import { helmMissing, isReady, SieRelease, type ReleaseSpec } from "./sieRelease.js";
import { findKubeTools } from "../../../cluster/tools.js";

const WAIT = { timeoutMs: 90_000, intervalMs: 250 };

interface Reply {
  status: number;
  version: string | null;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

const kube = findKubeTools();
const skip = kube.ok ? helmMissing() : kube.reason;
if (skip) console.warn(`[cluster tests] endpoints skipped: ${skip}`);

describe.skipIf(skip !== undefined)(`SIE endpoint server on a real control plane${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let root: string;
  let cluster: ControlPlane;
  let kc: k8s.KubeConfig;
  let ep: EndpointServer;
  let failed = false;
  const releases: Record<string, SieRelease> = {};

  const get = async (url: string, init: RequestInit = {}): Promise<Reply> => {
    const t0 = performance.now();
    const r = await fetch(url, init);
    const text = await r.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: r.status, version: r.headers.get("x-sie-server-version"), headers: r.headers, body, ms: performance.now() - t0 };
  };
  const gateway = (ns: string, p: string) => get(`${ep.gatewayUrl(ns)}${p}`);
  const encode = (ns: string, pool?: string) =>
    get(`${ep.gatewayUrl(ns)}/v1/encode/BAAI%2Fbge-m3`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(pool ? { "x-sie-pool": pool } : {}) },
      body: JSON.stringify({ items: [{ text: "hello" }] }),
    });
  const control = async (p: string, body?: unknown) =>
    get(`${ep.url}/control${p}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const until = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = WAIT.timeoutMs) =>
    waitFor(what, check, { timeoutMs, intervalMs: WAIT.intervalMs });
  const podOf = async (ns: string, pool: string, tag: string, ok: (p: k8s.V1Pod) => boolean, what: string) =>
    until(`${ns} pool ${pool} at ${tag}: ${what}`, async () =>
      (await releases[ns]!.pods(pool)).find((p) => !p.metadata?.deletionTimestamp && parseImage(p.spec?.containers[0]?.image ?? "").baseTag === tag && ok(p)),
    );

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-endpoints-"));
    cluster = await startControlPlane({ dir: path.join(root, "cluster"), kedaCrds: false });
    kc = cluster.kubeConfig();
    ep = await startEndpointServer({ kubeconfigPath: cluster.kubeconfigPath, intervalMs: 200 });
    const specs: ReleaseSpec[] = [
      { namespace: "ep-a", gatewayTag: "v0.3.1", configTag: "v0.3.1", workerTag: "v0.3.1", pools: { l4: { gpu: true }, cpu: {} } },
      { namespace: "ep-b", gatewayTag: "v0.4.0", configTag: "v0.4.0", workerTag: "v0.4.0", pools: { cpu: {} } },
      {
        namespace: "ep-faults",
        gatewayTag: "v0.3.1",
        configTag: "v0.3.2-5xx",
        workerTag: "v0.3.2",
        pools: {
          ok: {},
          fivexx: { tag: "v0.3.2-5xx" },
          err10: { tag: "v0.3.2-errors10" },
          slow: { tag: "v0.3.2-slow" },
          crash: { tag: "v0.3.2-crashloop" },
          pull: { tag: "v0.3.2-pullerr" },
          noready: { tag: "v0.3.2-noready" },
        },
      },
      { namespace: "ep-scoped", gatewayTag: "v0.3.1", configTag: "v0.3.1", workerTag: "v0.3.1", pools: { p1: {}, p2: {}, p3: {} } },
    ];
    for (const spec of specs) {
      const r = new SieRelease(cluster.kubeconfigPath, spec);
      await r.install();
      releases[spec.namespace] = r;
    }
  }, 300_000);
  afterEach((c) => {
    if (c.task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    await ep?.stop();
    await cluster?.stop();
    if (failed) console.warn(`[endpoints test] kept ${root}`);
    else if (root) fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it("serves a release's gateway and config from its Ready pods, with their versions", async () => {
    const ready = await until("ep-a gateway with both pools Ready", async () => {
      const r = await gateway("ep-a", "/readyz");
      return r.status === 200 && r.body["healthy_workers"] === 2 ? r : undefined;
    });
    expect(ready.version).toBe("0.3.1");
    const health = await gateway("ep-a", "/health");
    expect(health.body).toMatchObject({
      status: "healthy",
      configured_gpu_types: ["cpu", "l4"],
      live_gpu_types: ["cpu", "l4"],
      cluster: { worker_count: 2, gpu_count: 1 },
    });
    const models = (await gateway("ep-a", "/v1/models")).body["models"] as { name: string }[];
    expect(models.map((m) => m.name)).toContain("BAAI/bge-m3");
    const enc = await encode("ep-a", "l4");
    expect(enc.status).toBe(200);
    expect(enc.headers.get("x-sie-pool")).toBe("l4");
    expect(enc.headers.get("x-sie-worker")).toBe("sie-sie-cluster-worker-l4-0");
    expect(enc.version).toBe("0.3.1");
    expect((enc.body["items"] as { dense: number[] }[])[0]!.dense).toHaveLength(1024);
    const config = await until("ep-a config", async () => {
      const r = await get(`${ep.configUrl("ep-a")}/healthz`);
      return r.status === 200 ? r : undefined;
    });
    expect(config.version).toBe("0.3.1");
  });

  it("serves two namespaces independently", async () => {
    const b = await until("ep-b gateway", async () => {
      const r = await encode("ep-b", "cpu");
      return r.status === 200 ? r : undefined;
    });
    expect(b.version).toBe("0.4.0");
    expect(b.headers.get("x-sie-gateway-version")).toBe("0.4.0");
    expect((await encode("ep-a", "cpu")).version).toBe("0.3.1");
    // A pool that exists in another namespace only: no worker here.
    expect((await encode("ep-b", "l4")).status).toBe(202);
    expect((await gateway("ep-nowhere", "/readyz")).status).toBe(503);
  });

  it("the version header follows the Ready pods through a rollout", async () => {
    await releases["ep-a"]!.setGatewayTag("v0.3.2");
    await releases["ep-a"]!.setWorkerTag("cpu", "v0.3.2");
    await until("ep-a gateway at 0.3.2 only", async () => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 4; i++) seen.add((await gateway("ep-a", "/readyz")).version);
      return seen.size === 1 && seen.has("0.3.2") ? true : undefined;
    });
    await until("ep-a cpu pool serving 0.3.2", async () => ((await encode("ep-a", "cpu")).version === "0.3.2" ? true : undefined));
    expect((await encode("ep-a", "l4")).version).toBe("0.3.1");
  });

  it("without a Ready gateway pod the gateway is unavailable and has no version; other namespaces still answer", async () => {
    await releases["ep-b"]!.scale("gateway", 0);
    const down = await until("ep-b gateway gone", async () => {
      const r = await gateway("ep-b", "/readyz");
      return r.status === 503 ? r : undefined;
    });
    expect(down.version).toBeNull();
    expect(down.body).toMatchObject({ status: "unavailable" });
    expect((await encode("ep-b", "cpu")).status).toBe(503);
    expect((await gateway("ep-a", "/readyz")).status).toBe(200);
    await releases["ep-b"]!.scale("gateway", 1);
    await until("ep-b gateway back", async () => ((await gateway("ep-b", "/readyz")).status === 200 ? true : undefined));
  });

  it("-5xx, -errors10 and -slow: Ready pods whose requests fail or are slow", async () => {
    // Each pool serves its own tag once the server has seen the patched pod Ready (one counted request each).
    for (const [pool, version] of [
      ["fivexx", "0.3.2-5xx"],
      ["err10", "0.3.2-errors10"],
      ["slow", "0.3.2-slow"],
      ["ok", "0.3.2"],
    ]) {
      await until(`ep-faults ${pool} serving ${version}`, async () => ((await encode("ep-faults", pool)).version === version ? true : undefined));
    }
    const codes = async (pool: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await encode("ep-faults", pool)).status);
      return out;
    };
    expect(await codes("fivexx", 4)).toEqual([500, 500, 500, 500]);
    const err10 = await codes("err10", 20); // requests 2–21 of this pod: the 10th and the 20th fail
    expect(err10.filter((c) => c === 500)).toHaveLength(2);
    expect(err10.filter((c) => c !== 500 && c !== 200)).toEqual([]);
    const slow = await encode("ep-faults", "slow");
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(1500);
    const ok = await encode("ep-faults", "ok");
    expect(ok.status).toBe(200);
    expect(ok.ms).toBeLessThan(1000);
    // The config service's own -5xx tag.
    const config = await get(`${ep.configUrl("ep-faults")}/healthz`);
    expect([config.status, config.version]).toEqual([500, "0.3.2-5xx"]);
  });

  it("-crashloop, -pullerr and -noready: pod states from the generated kwok stages, never routed", async () => {
    const waiting = (p: k8s.V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    const crash = await podOf("ep-faults", "crash", "v0.3.2-crashloop", (p) => waiting(p) === "CrashLoopBackOff", "CrashLoopBackOff");
    expect(crash.status?.phase).toBe("Running");
    expect(crash.status?.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
    expect(crash.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(isReady(crash)).toBe(false);
    const pull = await podOf("ep-faults", "pull", "v0.3.2-pullerr", (p) => waiting(p) === "ImagePullBackOff", "ImagePullBackOff");
    expect(pull.status?.phase).toBe("Pending");
    const noready = await podOf("ep-faults", "noready", "v0.3.2-noready", (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined, "running");
    expect(noready.status?.phase).toBe("Running");
    expect(isReady(noready)).toBe(false);
    for (const pool of ["crash", "pull", "noready"]) expect((await encode("ep-faults", pool)).status).toBe(202);
    expect((await gateway("ep-faults", "/workers/sie-sie-cluster-worker-noready-0/readyz")).status).toBe(503);
    expect((await gateway("ep-faults", "/workers/sie-sie-cluster-worker-noready-0/healthz")).status).toBe(200);
  });

  it("scoped faults hit one pool at one version: a pod fault through the webhook's annotation, a request fault live", async () => {
    const s = releases["ep-scoped"]!;
    for (const pool of ["p1", "p2", "p3"]) await podOf("ep-scoped", pool, "v0.3.1", isReady, "Ready");
    const set = await control("/faults", {
      scopes: [
        { namespace: "ep-scoped", component: "worker", pool: "p2", version: "v0.3.2", fault: "crashloop" },
        { namespace: "ep-scoped", component: "worker", pool: "p1", version: "v0.3.2", fault: "5xx" },
      ],
    });
    expect(set.status).toBe(200);
    expect(set.body["scopes"]).toHaveLength(2);
    const stored = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace: FAULT_SCOPES_OBJECT.namespace, name: FAULT_SCOPES_OBJECT.name });
    expect(JSON.parse(stored.data?.[FAULT_SCOPES_OBJECT.key] ?? "[]")).toHaveLength(2);
    await kc.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    // Still on 0.3.1: the scopes name 0.3.2.
    await until("ep-scoped gateway", async () => ((await gateway("ep-scoped", "/readyz")).status === 200 ? true : undefined));
    expect((await encode("ep-scoped", "p1")).status).toBe(200);

    // Every state a p2 pod at 0.3.2 passes through, from the watch: it must never be Ready.
    const seen: { ready: boolean; annotated: boolean }[] = [];
    const watch = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/ep-scoped/pods`,
      { labelSelector: "sie.superlinked.com/pool=p2" },
      (_type, pod: k8s.V1Pod) => {
        if (pod.spec?.containers[0]?.image?.includes(":v0.3.2-"))
          seen.push({ ready: isReady(pod), annotated: pod.metadata?.annotations?.[FAULT_ANNOTATION] === "crashloop" });
      },
      () => undefined,
    );
    try {
      for (const pool of ["p1", "p2", "p3"]) await s.setWorkerTag(pool, "v0.3.2");
      const p2 = await podOf(
        "ep-scoped",
        "p2",
        "v0.3.2",
        (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff",
        "CrashLoopBackOff",
      );
      expect(p2.metadata?.annotations?.[FAULT_ANNOTATION]).toBe("crashloop");
      await podOf("ep-scoped", "p1", "v0.3.2", isReady, "Ready");
      await podOf("ep-scoped", "p3", "v0.3.2", isReady, "Ready");
    } finally {
      watch.abort();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((x) => x.ready)).toEqual([]);
    expect(seen.every((x) => x.annotated)).toBe(true);
    // Only the pools and version the scopes name.
    for (const p of await s.pods("p1")) expect(p.metadata?.annotations?.[FAULT_ANNOTATION]).toBeUndefined();
    await until("p1 serving 0.3.2", async () =>
      (await encode("ep-scoped", "p3")).version === "0.3.2" && (await encode("ep-scoped", "p1")).status === 500 ? true : undefined,
    );
    expect((await encode("ep-scoped", "p2")).status).toBe(202);
    const state = (await control("/state")).body as { namespaces: Record<string, { pods: { name: string; fault?: string }[] }> };
    const faults = Object.fromEntries(state.namespaces["ep-scoped"]!.pods.filter((p) => p.fault).map((p) => [p.name, p.fault]));
    expect(faults).toEqual({ "sie-sie-cluster-worker-p1-0": "5xx", "sie-sie-cluster-worker-p2-0": "crashloop" });
    // No other namespace is touched: ep-a's cpu pool also runs 0.3.2.
    expect((await encode("ep-a", "cpu")).status).toBe(200);

    // Removing the request scope heals p1 at once.
    await control("/faults", { scopes: [{ namespace: "ep-scoped", component: "worker", pool: "p1", version: "v0.3.2", fault: null }] });
    expect((await encode("ep-scoped", "p1")).status).toBe(200);
    expect(((await control("/faults")).body["scopes"] as unknown[]).length).toBe(1);
  });

  it("runs bounded load per namespace", async () => {
    const started = await control("/load", { namespace: "ep-a", rps: 20, durationMs: 1500, pool: "cpu" });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ running: true, options: { rps: 20, durationMs: 1500, pool: "cpu" } });
    const done = await until(
      "load to finish",
      async () => {
        const r = (await control("/load?namespace=ep-a")).body as unknown as LoadStatus;
        return r.running ? undefined : r;
      },
      20_000,
    );
    expect(done.sent).toBeGreaterThanOrEqual(25);
    expect(done.byStatus["200"]).toBe(done.sent);
    expect(((await control("/load?namespace=ep-b")).body as unknown as LoadStatus).sent).toBe(0);
    await control("/load", { namespace: "ep-b", rps: 5, durationMs: 60_000 });
    expect((await control("/load", { namespace: "ep-b", action: "stop" })).body).toMatchObject({ running: false });
    expect((await control("/load", { namespace: "ep-b", rps: 0, durationMs: 10 })).status).toBe(400);
  });

  it("metrics carry the namespace: one scrape covers every release, each gateway's /metrics only its own", async () => {
    const all = await (await fetch(ep.metricsUrl)).text();
    for (const ns of ["ep-a", "ep-b", "ep-faults", "ep-scoped"])
      expect(all).toMatch(new RegExp(`sie_gateway_requests_total\\{namespace="${ns}",pool="[^"]+",status="\\d+",version="[^"]+"`));
    expect(all).toMatch(
      /sie_gateway_requests_total\{namespace="ep-faults",pool="fivexx",status="500",version="0.3.2-5xx",model="BAAI\/bge-m3",endpoint="encode"\} [1-9]/,
    );
    expect(all).toMatch(
      /sie_gateway_request_duration_seconds_bucket\{le="[^"]+",namespace="ep-a",pool="cpu",version="0.3.2"\}|sie_gateway_request_duration_seconds_bucket\{namespace="ep-a",pool="cpu",version="0.3.2",le=/,
    );
    expect(all).toMatch(/sie_gateway_workers\{namespace="ep-a",pool="l4",version="0.3.1",ready="true"\} 1/);
    const a = await (await fetch(`${ep.gatewayUrl("ep-a")}/metrics`)).text();
    expect(a).toContain('namespace="ep-a"');
    expect(a).not.toMatch(/namespace="ep-(b|faults|scoped)"/);
  });

  it.skipIf(prometheusUnavailable() !== undefined)("one real Prometheus scrape of metricsUrl keeps every namespace apart", async () => {
    const prom = await startPrometheus({ metricsUrl: ep.metricsUrl, labels: {}, honorLabels: true });
    try {
      const query = 'sum by (namespace) (sie_gateway_requests_total{endpoint="encode"})';
      await waitForSeries(prom.url, 'sie_gateway_requests_total{namespace="ep-scoped"}');
      const r = (await (await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as {
        data: { result: { metric: { namespace: string } }[] };
      };
      expect(r.data.result.map((x) => x.metric.namespace).sort()).toEqual(["ep-a", "ep-b", "ep-faults", "ep-scoped"]);
    } finally {
      await prom.stop();
    }
  });

  it("stop() removes the webhook; the scopes stay in the cluster for the next server", async () => {
    await ep.stop();
    const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    await expect(admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION })).rejects.toMatchObject({ code: 404 });
    ep = await startEndpointServer({ kubeconfigPath: cluster.kubeconfigPath, intervalMs: 200 });
    expect(((await control("/faults")).body["scopes"] as unknown[]).length).toBe(1);
    // The remaining scope is a pod fault, so the new server registers its webhook again.
    await admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    expect((await control("/faults", { clear: true })).body).toEqual({ scopes: [] });
  });
});
