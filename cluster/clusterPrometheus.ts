/**
 * The embedded cluster's own Prometheus, reached as a real cluster's in-cluster one: through the
 * API server's service proxy at Service `monitoring/prometheus:9090`, which is what the local stack
 * names (`sie-fleet:monitoring: prometheus: service`). The cluster daemon runs a real server
 * (prometheus.ts) beside the control plane and the cluster holds what installing one would create:
 * namespace `monitoring`, Deployment `prometheus` (kwok runs its pod; its IP is in the Service's
 * Endpoints, kept by the controller-manager) and Service `prometheus`, port 9090 `http`. The egress
 * pipes connections to that pod's port 9090 into the server (endpoints/egressForward.ts).
 *
 * It scrapes one target per SIE release, as a ServiceMonitor on the chart's gateway Service would:
 * the endpoint server lists the gateway Services of every namespace it polls (`/targets`,
 * Prometheus HTTP service discovery; Prometheus's own Kubernetes discovery is left out of some
 * builds, Debian's among them), and each target reads that release's series
 * (`/namespaces/<ns>/gateway/metrics`) with the target label `namespace`, so `up{namespace}`
 * exists per release, as the `prometheus` check expects.
 *
 * Its loopback URL is recorded in cluster.json for people only: sie-fleet reaches it through the
 * API server, as on GKE or EKS.
 */
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { applyObjects } from "./apply.js";
import type { PodForward } from "./endpoints/egressForward.js";
import { isRunning } from "./endpoints/view.js";
import { stablePorts } from "./ports.js";
import { waitFor } from "./procs.js";
import { prometheusUnavailable, prometheusVersion, startPrometheus, type PrometheusServer } from "./prometheus.js";

/** Where it is in the cluster; `monitoring.prometheus.service` of the local stack names this Service. */
export const CLUSTER_PROMETHEUS = { namespace: "monitoring", name: "prometheus", port: 9090, portName: "http" } as const;
/** `<namespace>/<service>:<port>`, as a stack's `monitoring.prometheus.service` names it. */
export const CLUSTER_PROMETHEUS_SERVICE = `${CLUSTER_PROMETHEUS.namespace}/${CLUSTER_PROMETHEUS.name}:${CLUSTER_PROMETHEUS.port}`;

/**
 * Often enough for the local stack's short gate windows (`rateWindowSeconds: 4` holds four
 * samples), rarely enough to stay cheap with a namespace per test stack on 2 cores.
 */
export const SCRAPE_INTERVAL = "1s";

const SELECTOR = { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "sie-fleet-cluster" };
const LABELS = { ...SELECTOR, "app.kubernetes.io/managed-by": "sie-fleet-cluster" };
/** How long the daemon waits for kwok to run the pod before it goes on without saying it is reachable. */
const POD_WAIT_MS = 30_000;

/** The objects an in-cluster Prometheus install would create, with the image of the server that really answers. */
export function clusterPrometheusObjects(version = prometheusVersion()): (k8s.V1Namespace | k8s.V1Deployment | k8s.V1Service)[] {
  const { namespace, name, port, portName } = CLUSTER_PROMETHEUS;
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: LABELS } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels: LABELS },
      spec: {
        replicas: 1,
        selector: { matchLabels: SELECTOR },
        template: {
          metadata: { labels: LABELS },
          spec: {
            // No tolerations: like the chart's gateway and config pods it lands on an untainted
            // node (the CPU nodes of the default fleet), never on a GPU node.
            nodeSelector: { "kubernetes.io/os": "linux" },
            containers: [
              {
                name: "prometheus",
                image: `quay.io/prometheus/prometheus${version ? `:v${version}` : ""}`,
                ports: [{ name: portName, containerPort: port, protocol: "TCP" }],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: LABELS },
      spec: { selector: SELECTOR, ports: [{ name: portName, port, targetPort: portName, protocol: "TCP" }] },
    },
  ];
}

/** What the egress forwards: the pod's port 9090 to the server on loopback. */
export function clusterPrometheusForward(serverPort: number): PodForward {
  const { namespace, port } = CLUSTER_PROMETHEUS;
  const labelSelector = Object.entries(SELECTOR)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return { namespace, labelSelector, port, to: { host: "127.0.0.1", port: serverPort } };
}

/** One scrape target per SIE release, as the endpoint server's service discovery lists them. */
export function releaseScrapeJob(endpointsUrl: string): Record<string, unknown> {
  return {
    job_name: "sie",
    // The series carry `namespace` themselves; it agrees with the target's.
    honor_labels: true,
    http_sd_configs: [{ url: `${endpointsUrl}/targets`, refresh_interval: "2s" }],
  };
}

export interface ClusterPrometheus {
  /** http://127.0.0.1:<port>: for people looking at the cluster; sie-fleet goes through the API server. */
  url: string;
  pid: number | undefined;
  /** `monitoring/prometheus:9090` */
  service: string;
  log: string;
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface StartClusterPrometheusOptions {
  /** The cluster directory: storage in `prometheus/`, log in `logs/`, port in ports.json. */
  dir: string;
  kubeconfigPath: string;
  /** The endpoint server it scrapes, which also serves the egress the API server reaches it by. */
  endpoints: { url: string; forwardPods(rule: PodForward): void };
  log: (line: string) => void;
}

/**
 * Starts the server, has the egress forward its pod's port to it and applies its objects. Undefined,
 * after saying why once, when it cannot run here: the cluster works without it, and a stack that
 * names it is refused by the reach preflight.
 */
export async function startClusterPrometheus(o: StartClusterPrometheusOptions): Promise<ClusterPrometheus | undefined> {
  const missing = prometheusUnavailable();
  if (missing) {
    o.log(`no Prometheus in the cluster: ${missing}`);
    return undefined;
  }
  const { prometheus: port } = await stablePorts(o.dir, ["prometheus"], o.log);
  let server: PrometheusServer;
  try {
    server = await startPrometheus({
      scrapeConfigs: [releaseScrapeJob(o.endpoints.url)],
      scrapeInterval: SCRAPE_INTERVAL,
      port,
      dir: path.join(o.dir, "prometheus"),
      logDir: path.join(o.dir, "logs"),
      readyTimeoutMs: 60_000,
    });
  } catch (err) {
    o.log(`no Prometheus in the cluster: it did not start: ${(err as Error).message}`);
    return undefined;
  }
  try {
    o.endpoints.forwardPods(clusterPrometheusForward(server.port));
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(o.kubeconfigPath);
    await applyObjects(kc, clusterPrometheusObjects());
    await waitForPod(kc, o.log);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: server.url, pid: server.pid, service: CLUSTER_PROMETHEUS_SERVICE, log: server.log, exited: server.exited, stop: server.stop };
}

/** Until kwok runs its pod; says so and goes on when it does not (e.g. a cluster whose nodes are all tainted). */
async function waitForPod(kc: k8s.KubeConfig, log: (line: string) => void): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const { namespace } = CLUSTER_PROMETHEUS;
  const { labelSelector } = clusterPrometheusForward(0);
  try {
    await waitFor(
      "the Prometheus pod running",
      async () => ((await core.listNamespacedPod({ namespace, labelSelector })).items.some(isRunning) ? true : undefined),
      { timeoutMs: POD_WAIT_MS, intervalMs: 250 },
    );
  } catch {
    log(
      `the Prometheus pod is not running after ${POD_WAIT_MS / 1000}s, so the API server cannot reach it yet: kubectl get pods -n ${namespace} (it needs an untainted node)`,
    );
  }
}
