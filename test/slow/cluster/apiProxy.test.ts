// SIE reached only through the API server, as on GKE/EKS: the real kube-apiserver's service
// proxy (Endpoints kept by the real controller-manager from kwok's pod IPs) and pod proxy dial
// pods through its "cluster" egress, where the endpoint server answers as the pod with that IP
// (cluster/endpoints/egress.ts). The release is the real chart installed by helm (sieRelease.ts).
import { execFile, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { kubeFetch } from "../../../automation/kube/apiProxy.js";
import { egressSocketPath, startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { startEndpointServer, type EndpointServer } from "../../../cluster/endpoints/index.js";
import { freePort } from "../../../cluster/ports.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKubectl, findKubeTools } from "../../../cluster/tools.js";
import { helmMissing, SieRelease } from "./sieRelease.js";

const execFileP = promisify(execFile);
const NS = "px";
const FULLNAME = "sie-sie-cluster";
const WAIT = { timeoutMs: 90_000, intervalMs: 250 };

interface Reply {
  status: number;
  version: string | undefined;
  headers: Record<string, string>;
  body: string;
}

const kube = findKubeTools();
const skip = kube.ok ? helmMissing() : kube.reason;
/** The cluster's own kubectl when built (`ensure-kube-tools --kubectl`, the demo builds it), else a kubectl on PATH. */
const kubectl = ((): { bin: string } | undefined => {
  const built = findKubectl();
  if (built.ok) return built;
  if (spawnSync("kubectl", ["version", "--client"]).status === 0) return { bin: "kubectl" };
  console.warn(`[cluster tests] runbook kubectl checks skipped: ${built.reason}, and no kubectl on PATH`);
  return undefined;
})();
if (skip) console.warn(`[cluster tests] apiProxy skipped: ${skip}`);

describe.skipIf(skip !== undefined)(`SIE through the API server's proxy${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let root: string;
  let cluster: ControlPlane;
  let kc: k8s.KubeConfig;
  let ep: EndpointServer;
  let release: SieRelease;
  let failed = false;

  /** A request to the API server with the kubeconfig's own credentials (client certificate, CA), as the engine makes it. */
  const api = async (p: string, method = "GET", body?: string): Promise<Reply> => {
    const r = await kubeFetch(kc)(new URL(p, cluster.server).href, {
      method,
      ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
    });
    return {
      status: r.status,
      version: r.headers.get("x-sie-server-version") ?? undefined,
      headers: Object.fromEntries(r.headers),
      body: await r.text(),
    };
  };
  const service = (component: "gateway" | "config", p: string, method?: string, body?: string) =>
    api(`/api/v1/namespaces/${NS}/services/${FULLNAME}-${component}:http/proxy${p}`, method, body);
  const pod = (name: string, p: string) => api(`/api/v1/namespaces/${NS}/pods/${name}:8080/proxy${p}`);
  const encode = () => service("gateway", "/v1/encode/BAAI%2Fbge-m3", "POST", JSON.stringify({ items: [{ text: "hello" }] }));
  const until = <T>(what: string, check: () => Promise<T | undefined>) => waitFor(what, check, WAIT);
  /** kubectl asynchronously: the endpoint server that answers as the pods runs in this process. */
  const run = async (...args: string[]) => {
    const r = await execFileP(kubectl!.bin, ["--kubeconfig", cluster.kubeconfigPath, "-n", NS, ...args], { encoding: "utf8", timeout: 90_000 }).catch(
      (e: { stderr?: string; message: string }) => {
        throw new Error(`kubectl ${args.join(" ")}: ${e.stderr || e.message}`);
      },
    );
    return r.stdout;
  };
  const faults = async (body: unknown) => {
    const r = await fetch(`${ep.url}/control/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(r.status).toBe(200);
  };

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-apiproxy-"));
    cluster = await startControlPlane({ dir: path.join(root, "cluster"), kedaCrds: false });
    kc = cluster.kubeConfig();
    expect(cluster.kubelet.crds, cluster.kubelet.why).toBe(true);
    ep = await startEndpointServer({
      kubeconfigPath: cluster.kubeconfigPath,
      intervalMs: 200,
      egressSocket: egressSocketPath(cluster.dir),
      kubelet: cluster.kubelet,
    });
    release = new SieRelease(cluster.kubeconfigPath, {
      namespace: NS,
      gatewayTag: "v0.3.1",
      configTag: "v0.3.1",
      workerTag: "v0.3.2",
      pools: { cpu: {}, crash: { tag: "v0.3.2-crashloop" } },
    });
    await release.install();
  }, 300_000);
  afterEach((c) => {
    if (c.task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    await ep?.stop();
    await cluster?.stop();
    if (failed) console.warn(`[apiProxy test] kept ${root}`);
    else if (root) fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it("the service proxy reaches a Ready gateway pod, which answers with its version", async () => {
    const r = await until("gateway /readyz through the service proxy, with the cpu worker Ready", async () => {
      const x = await service("gateway", "/readyz");
      return x.status === 200 && (JSON.parse(x.body) as { healthy_workers: number }).healthy_workers === 1 ? x : undefined;
    });
    expect(r.version).toBe("0.3.1");
    // The same answer the endpoint server's own namespace URL gives.
    expect((await fetch(`${ep.gatewayUrl(NS)}/readyz`)).headers.get("x-sie-server-version")).toBe("0.3.1");
    const enc = await encode();
    expect(enc.status).toBe(200);
    expect(enc.version).toBe("0.3.2");
    expect(enc.headers["x-sie-gateway-version"]).toBe("0.3.1");
  });

  it("the service proxy reaches the config service", async () => {
    const r = await until("config /healthz through the service proxy", async () => {
      const x = await service("config", "/healthz");
      return x.status === 200 ? x : undefined;
    });
    expect(r.version).toBe("0.3.1");
    expect(JSON.parse(r.body)).toEqual({ status: "ok" });
  });

  it.skipIf(!kubectl)("the upgrade runbook's kubectl checks answer as on a real cluster (kubectl of the cluster's release, else the one on PATH)", async () => {
    const images = await run("get", "deployment", "-o", 'jsonpath={range .items[*]}{.metadata.name}: {.spec.template.spec.containers[0].image}{"\\n"}{end}');
    expect(images).toMatch(new RegExp(`^${FULLNAME}-gateway: \\S+:v0\\.3\\.1$`, "m"));
    expect(await run("rollout", "status", `deployment/${FULLNAME}-config`, "--timeout=60s")).toMatch(/successfully rolled out/);
    expect(await run("get", "pods", "-l", "app.kubernetes.io/component=worker")).toMatch(new RegExp(`${FULLNAME}-worker-cpu-0 +1/1 +Running`));
    // The runbook's `exec … wget -qO- localhost:8080/readyz`, asked of the Service through the API server.
    const readyz = await run("get", "--raw", `/api/v1/namespaces/${NS}/services/${FULLNAME}-gateway:http/proxy/readyz`);
    expect(JSON.parse(readyz)).toMatchObject({ healthy_workers: 1 });
  });

  it("the pod proxy reaches one worker and one gateway pod, each answering as itself", async () => {
    const w = await pod(`${FULLNAME}-worker-cpu-0`, "/readyz");
    expect(w).toMatchObject({ status: 200, version: "0.3.2", body: "ok" });
    const gw = (await release.core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/component=gateway" })).items[0]!;
    expect(await pod(gw.metadata!.name!, "/healthz")).toMatchObject({ status: 200, version: "0.3.1" });
  });

  it("a pod that is not running refuses the connection: the API server reports the dial error", async () => {
    const name = `${FULLNAME}-worker-crash-0`;
    await until(`${name} has an IP`, async () => ((await release.core.readNamespacedPod({ namespace: NS, name })).status?.podIP ? true : undefined));
    const r = await pod(name, "/readyz");
    expect(r.status).toBe(503);
    expect(r.version).toBeUndefined();
    expect(JSON.parse(r.body)).toMatchObject({
      reason: "ServiceUnavailable",
      message: expect.stringMatching(/^error trying to reach service: proxy error from .*egress\.sock while dialing [\d.]+:8080, code 502: .*is not running$/),
    });
  });

  it("a request fault on the gateway shows through the proxy", async () => {
    await faults({ scopes: [{ namespace: NS, component: "gateway", version: "v0.3.1", fault: "5xx" }] });
    try {
      const r = await encode();
      expect(r.status).toBe(500);
      expect(r.version).toBe("0.3.1");
      expect(JSON.parse(r.body)).toMatchObject({ fault: "5xx" });
    } finally {
      await faults({ clear: true });
    }
    expect((await encode()).status).toBe(200);
  });

  it("the nodes advertise kwok's kubelet port, and get it back when they show another (a node of a cluster started before)", async () => {
    const core = release.core;
    const port = (n: k8s.V1Node) => n.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    const nodes = (await core.listNode()).items;
    expect(nodes.map(port)).toEqual(nodes.map(() => cluster.kubelet.port));
    const name = nodes[0]!.metadata!.name!;
    await until(`${name} shows kubelet port 1`, async () => {
      const node = await core.readNode({ name });
      const body = { ...node, status: { ...node.status, daemonEndpoints: { kubeletEndpoint: { Port: 1 } } } };
      // A conflict is kwok writing the node meanwhile: read it again.
      return core.replaceNodeStatus({ name, body }).then(
        () => true,
        (err: { code?: number }) => (err.code === 409 ? undefined : Promise.reject(err)),
      );
    });
    await until("kwok's stage to restore the node's kubelet port", async () =>
      port(await core.readNode({ name })) === cluster.kubelet.port ? true : undefined,
    );
  });

  it.skipIf(!kubectl)("kubectl logs of the gateway: its start, one line per request, ERROR lines for the requests a fault failed", async () => {
    // The fault test above failed encodes on this gateway version; the runbook greps for them.
    const errors = await until("the gateway's ERROR lines in kubectl logs", async () => {
      const out = await run("logs", "-l", "app.kubernetes.io/component=gateway", "--tail=50");
      const lines = out.split("\n").filter((l) => /error/i.test(l));
      return lines.length > 0 ? lines : undefined;
    });
    expect(errors[0]).toMatch(/^ERROR request failed method=POST path=\/v1\/encode\/BAAI(%2F|\/)bge-m3 status=500 version=0\.3\.1 fault=5xx$/);
    const gw = (await release.core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/component=gateway" })).items[0]!.metadata!.name!;
    const all = await run("logs", gw);
    expect(all).toMatch(/^INFO sie-gateway 0\.3\.1 started, listening on :8080 \(image \S+:v0\.3\.1\)$/m);
    expect(all).toMatch(/^INFO request method=GET path=\/readyz status=200 version=0\.3\.1$/m);
    expect(all).toMatch(/^INFO request method=POST path=\/v1\/encode\/BAAI(%2F|\/)bge-m3 status=200 version=0\.3\.1$/m);
    // The worker behind the gateway logs the encodes it served.
    expect(await run("logs", `${FULLNAME}-worker-cpu-0`)).toMatch(
      /^INFO request method=POST path=\/v1\/encode\/BAAI(%2F|\/)bge-m3 status=200 version=0\.3\.2$/m,
    );
    // kwok's exec would run the command on this machine: no Exec objects exist, so it is refused.
    await expect(run("exec", gw, "--", "true")).rejects.toThrow();
  });

  it.skipIf(!kubectl)("kubectl port-forward of a worker pod and of the gateway Service answers as that pod", async () => {
    const forward = async (target: string, check: (base: string) => Promise<void>) => {
      const port = await freePort();
      const child = spawn(kubectl!.bin, ["--kubeconfig", cluster.kubeconfigPath, "-n", NS, "port-forward", target, `${port}:8080`], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      try {
        await until(`kubectl port-forward ${target} listening`, async () => {
          if (child.exitCode !== null) throw new Error(`kubectl port-forward ${target} exited ${child.exitCode}: ${out}`);
          return out.includes(`Forwarding from 127.0.0.1:${port}`) ? true : undefined;
        });
        await check(`http://127.0.0.1:${port}`);
      } finally {
        child.kill();
      }
    };
    await forward(`pod/${FULLNAME}-worker-cpu-0`, async (base) => {
      const r = await fetch(`${base}/readyz`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-sie-server-version")).toBe("0.3.2");
      expect(await r.text()).toBe("ok");
    });
    await forward(`svc/${FULLNAME}-gateway`, async (base) => {
      const r = await fetch(`${base}/readyz`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-sie-server-version")).toBe("0.3.1");
      expect(await r.json()).toMatchObject({ healthy_workers: 1 });
    });
  });

  it("a gateway with no Ready pod: the API server's own 503, no endpoints", async () => {
    await release.scale("gateway", 0);
    const r = await until("no gateway endpoints", async () => {
      const x = await service("gateway", "/readyz");
      return x.status === 503 ? x : undefined;
    });
    expect(r.version).toBeUndefined();
    expect(JSON.parse(r.body)).toMatchObject({ kind: "Status", code: 503, message: `no endpoints available for service "${FULLNAME}-gateway"` });
  });
});
