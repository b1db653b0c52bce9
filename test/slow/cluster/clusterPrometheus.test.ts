// The embedded cluster's own Prometheus (cluster/clusterPrometheus.ts), reached only as sie-fleet
// reaches a real cluster's: the API server's service proxy to Service monitoring/prometheus, whose
// Endpoints the controller-manager keeps from the pod kwok runs; the egress pipes that pod's port
// to the real server the daemon runs (cluster/endpoints/egressForward.ts). The cluster is started
// through its daemon, as `sie-fleet cluster start` does.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { kubeFetch, serviceProxyUrl } from "../../../automation/kube/apiProxy.js";
import { PrometheusClient } from "../../../automation/verify/prometheus.js";
import { CLUSTER_PROMETHEUS } from "../../../cluster/clusterPrometheus.js";
import { deleteEmbeddedCluster, startEmbeddedCluster, stopEmbeddedCluster, type EmbeddedCluster } from "../../../cluster/index.js";
import { waitFor } from "../../../cluster/procs.js";
import { prometheusUnavailable } from "../../../cluster/prometheus.js";
import { findKubeTools } from "../../../cluster/tools.js";

const NS = "pt";
const WAIT = { timeoutMs: 90_000, intervalMs: 300 };

const kube = findKubeTools();
const skip = kube.ok ? prometheusUnavailable() : kube.reason;
if (skip) console.warn(`[cluster tests] clusterPrometheus skipped: ${skip}`);

describe.skipIf(skip !== undefined)(`the embedded cluster's Prometheus through the API server${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let root: string;
  let cluster: EmbeddedCluster;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let failed = false;

  /** GET through the API server with the kubeconfig's own credentials, as the engine does. */
  const api = async (p: string): Promise<{ status: number; body: string }> => {
    const r = await kubeFetch(kc)(new URL(p, cluster.server).href);
    return { status: r.status, body: await r.text() };
  };
  const byPortName = (p: string) => api(`/api/v1/namespaces/${CLUSTER_PROMETHEUS.namespace}/services/${CLUSTER_PROMETHEUS.name}:http/proxy${p}`);
  /** The engine's own client at the URL it builds from `monitoring.prometheus.service` (context.ts sieServiceUrls). */
  const engineClient = () => new PrometheusClient(serviceProxyUrl(cluster.server, CLUSTER_PROMETHEUS), { http: kubeFetch(kc), timeoutMs: 10_000 });
  const until = <T>(what: string, check: () => Promise<T | undefined>) => waitFor(what, check, WAIT);
  const scale = (replicas: number) =>
    apps.patchNamespacedDeployment(
      { name: CLUSTER_PROMETHEUS.name, namespace: CLUSTER_PROMETHEUS.namespace, body: { spec: { replicas } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-prom-"));
    cluster = await startEmbeddedCluster({ dir: path.join(root, "cluster"), onProgress: (l) => console.log(`[cluster] ${l}`), keda: false });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    // One SIE "release" for it to discover: a gateway Service and a worker pod (kwok runs it on a CPU node).
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const labels = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": "sie" };
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: "sie-sie-cluster-gateway", labels: { ...labels, "app.kubernetes.io/component": "gateway" } },
        spec: { selector: { ...labels, "app.kubernetes.io/component": "gateway" }, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
      },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: "worker-cpu-0", labels: { ...labels, "app.kubernetes.io/component": "worker", "sie.superlinked.com/pool": "cpu" } },
        spec: {
          nodeSelector: { "sie-fleet/gpu": "cpu" },
          containers: [{ name: "sie-server", image: "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", ports: [{ name: "http", containerPort: 8080 }] }],
        },
      },
    });
  }, 400_000);
  afterEach((c) => {
    if (c.task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    if (!root) return;
    if (failed) {
      console.warn(`[clusterPrometheus test] kept ${root} (stopped; logs in cluster/logs, daemon.log)`);
      await stopEmbeddedCluster(path.join(root, "cluster"));
    } else {
      await deleteEmbeddedCluster(path.join(root, "cluster"));
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it("is registered as an in-cluster Prometheus: Deployment, Service port 9090 `http`, Endpoints at kwok's pod IP", async () => {
    expect(cluster.prometheus).toMatchObject({ service: "monitoring/prometheus:9090", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const { namespace, name } = CLUSTER_PROMETHEUS;
    const svc = await core.readNamespacedService({ namespace, name });
    expect(svc.spec?.ports).toEqual([expect.objectContaining({ name: "http", port: 9090, targetPort: "http" })]);
    const pod = await until("the Prometheus pod Running with an IP", async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: "app.kubernetes.io/name=prometheus" })).items;
      return pods.find((p) => p.status?.phase === "Running" && p.status.podIP);
    });
    expect(pod.spec?.containers[0]?.ports).toEqual([expect.objectContaining({ name: "http", containerPort: 9090 })]);
    // Not on a GPU node: no tolerations, so an untainted (CPU) node.
    expect((await core.readNode({ name: pod.spec!.nodeName! })).spec?.taints ?? []).toEqual([]);
    await until("Endpoints of monitoring/prometheus at the pod's IP", async () => {
      const ep = await core.readNamespacedEndpoints({ namespace, name });
      return ep.subsets?.some((s) => s.addresses?.some((a) => a.ip === pod.status?.podIP)) ? true : undefined;
    });
  });

  it("the service proxy answers /-/ready, and the engine's client reaches it by the stack's port number", async () => {
    const r = await until("/-/ready through the service proxy", async () => {
      const x = await byPortName("/-/ready");
      return x.status === 200 ? x : undefined;
    });
    expect(r.body).toMatch(/Ready/);
    expect(await engineClient().ready()).toMatchObject({ phase: "Successful", value: 200 });
  });

  it("a query returns the series the endpoint server exports, one scrape target per release (`up{namespace}`)", async () => {
    const prom = engineClient();
    const query = `sie_gateway_workers{namespace="${NS}",ready="true"}`;
    const workers = await until(`${query} through the proxy`, async () => {
      const m = await prom.query(query);
      return m.phase === "Successful" && (m.value?.length ?? 0) > 0 ? m.value : undefined;
    });
    expect(workers).toEqual([{ labels: expect.objectContaining({ namespace: NS, pool: "cpu", ready: "true" }), value: 1 }]);
    const up = await prom.query(`up{namespace="${NS}"}`);
    expect(up.value).toEqual([{ labels: expect.objectContaining({ job: "sie", namespace: NS, instance: `${NS}/sie-sie-cluster-gateway` }), value: 1 }]);
    // The same through the API server by the port's name, as kubectl get --raw would ask.
    const raw = await byPortName(`/api/v1/query?query=${encodeURIComponent(`sie_gateway_workers{namespace="${NS}"}`)}`);
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body)).toMatchObject({ status: "success", data: { resultType: "vector" } });
  });

  it("no pod: the API server's own 503; a new pod (another IP) is reached again", async () => {
    await scale(0);
    try {
      const r = await until("no Prometheus endpoints", async () => {
        const x = await byPortName("/-/ready");
        return x.status === 503 ? x : undefined;
      });
      expect(JSON.parse(r.body)).toMatchObject({ kind: "Status", code: 503, message: `no endpoints available for service "${CLUSTER_PROMETHEUS.name}"` });
    } finally {
      await scale(1);
    }
    await until("/-/ready through a new pod", async () => ((await byPortName("/-/ready")).status === 200 ? true : undefined));
  });

  it("its server stopped (the pod still Running): the egress refuses the dial and the API server answers an error", async () => {
    const pid = cluster.prometheus?.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGTERM");
    const r = await until("an error through the service proxy", async () => {
      const x = await byPortName("/-/ready");
      return x.status !== 200 ? x : undefined;
    });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).message).toMatch(
      /^error trying to reach service: proxy error from .*egress\.sock while dialing [\d.]+:9090, code 502: 502 connection refused: pod monitoring\/prometheus-.*'s process at 127\.0\.0\.1:\d+ does not accept/,
    );
    expect(await engineClient().ready()).toMatchObject({ phase: "Failed", value: 503 });
    // The rest of the cluster goes on, and says why Prometheus is gone.
    expect(fs.readFileSync(cluster.log, "utf8")).toMatch(/Prometheus (killed by SIGTERM|exited with code 0); the cluster runs on without it/);
    expect((await core.listNode()).items.length).toBeGreaterThan(0);
  });
});
