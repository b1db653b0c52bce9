/**
 * KEDA in the embedded cluster, as a user installs it: the release's CRDs (applied with the
 * control plane), its install objects (namespace, service account, RBAC, the operator's and the
 * metrics API server's Deployments and Services, the `v1beta1.external.metrics.k8s.io`
 * APIService), and its two real processes, built from the release's Go module
 * (`scripts/ensure-kube-tools --keda`).
 *
 * kwok runs the two Deployments' pods; the processes run beside the control plane and are those
 * pods on the cluster network (the egress forwards the pods' ports to them, as for the cluster's
 * Prometheus). So every path is a cluster's:
 * - the controller-manager's HPA asks the API server for an external metric; the aggregation layer
 *   proxies to the APIService's endpoint, the metrics API server's pod;
 * - the metrics API server asks the operator over mTLS gRPC at its default address,
 *   `keda-operator.keda.svc.cluster.local:9666`;
 * - the operator's Prometheus scaler queries the ScaledObject's `serverAddress` (the in-cluster
 *   Service name the stack renders);
 * the two processes reach those names through the pod network proxy (HTTP_PROXY), which resolves
 * them as cluster DNS and kube-proxy would. Both act as the release's service account
 * `keda:keda-operator` under the release's own RBAC.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { applyObjects } from "./apply.js";
import { issueClientCert, issueServingCert, kubeconfig } from "./certs.js";
import type { ControlPlane } from "./controlPlane.js";
import type { PodForward } from "./endpoints/egressForward.js";
import { freePort, stablePorts } from "./ports.js";
import { Proc, waitFor } from "./procs.js";
import { findKeda, type KedaBuild } from "./tools.js";

const KEDA_NAMESPACE = "keda";
/** The APIService the HPA reads external metrics through. */
export const EXTERNAL_METRICS_APISERVICE = "v1beta1.external.metrics.k8s.io";
/**
 * Pods and the port each serves of the release's Deployments and Services (config/manager,
 * config/metrics-server), and the stable port of the process behind it (ports.json).
 */
const OPERATOR = { service: "keda-operator", labelSelector: "app=keda-operator", port: 9666, local: "kedaGrpc" } as const;
const METRICS_APISERVER = { service: "keda-metrics-apiserver", labelSelector: "app=keda-metrics-apiserver", port: 6443, local: "kedaMetricsApi" } as const;
/** The release's service account, which both processes act as. */
const SERVICE_ACCOUNT_USER = `system:serviceaccount:${KEDA_NAMESPACE}:keda-operator`;

export interface ClusterKeda {
  version: string;
  operator: Proc;
  metricsApiServer: Proc;
  /** Resolves when either process exits on its own, with which one and why. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface StartClusterKedaOptions {
  cluster: Pick<ControlPlane, "dir" | "server" | "pki" | "logDir" | "kubeConfig">;
  /** The endpoint server: it forwards the pods' ports and is the processes' pod network. */
  endpoints: { forwardPods(rule: PodForward): void; podNetworkUrl?: string };
  log: (line: string) => void;
  /** Default: findKeda(), which never builds. */
  build?: KedaBuild;
  /** For the APIService to become Available (default 90 s). */
  timeoutMs?: number;
}

/**
 * Installs and starts KEDA. Undefined, after saying why, when it cannot run here (not built, no
 * pod network): the cluster works without it, as a cluster without KEDA does, and the stack's
 * `keda` check then finds no operator.
 */
export async function startClusterKeda(o: StartClusterKedaOptions): Promise<ClusterKeda | undefined> {
  let build = o.build;
  if (!build) {
    const found = findKeda();
    if (!found.ok) {
      o.log(`no KEDA in the cluster: ${found.reason}`);
      return undefined;
    }
    build = found;
  }
  if (!o.endpoints.podNetworkUrl) {
    o.log("no KEDA in the cluster: it needs the endpoint server's pod network to reach Prometheus and its own services");
    return undefined;
  }
  const { cluster } = o;
  const kedaDir = path.join(cluster.dir, "keda");
  const certDir = path.join(kedaDir, "certs");
  const caDir = path.join(kedaDir, "ca");
  for (const d of [certDir, caDir]) fs.mkdirSync(d, { recursive: true });
  // One certificate for both services, as KEDA's own rotation makes: it serves the gRPC metrics
  // service and the metrics API, and is the metrics API server's client certificate to the operator.
  const serving = issueServingCert(
    cluster.pki,
    "keda",
    [],
    [OPERATOR.service, METRICS_APISERVER.service].flatMap((s) => [`${s}.${KEDA_NAMESPACE}.svc`, `${s}.${KEDA_NAMESPACE}.svc.cluster.local`]),
  );
  fs.copyFileSync(cluster.pki.caCert, path.join(certDir, "ca.crt"));
  fs.copyFileSync(serving.cert, path.join(certDir, "tls.crt"));
  fs.copyFileSync(serving.key, path.join(certDir, "tls.key"));
  const identity = issueClientCert(
    cluster.pki.dir,
    { name: "keda-operator-sa", user: SERVICE_ACCOUNT_USER, groups: ["system:serviceaccounts", `system:serviceaccounts:${KEDA_NAMESPACE}`] },
    kedaDir,
  );
  const kubeconfigPath = path.join(kedaDir, "kubeconfig");
  fs.writeFileSync(kubeconfigPath, kubeconfig(cluster.server, cluster.pki.caCert, identity, SERVICE_ACCOUNT_USER), { mode: 0o600 });

  const kc = cluster.kubeConfig();
  await applyObjects(kc, installObjects(build, fs.readFileSync(cluster.pki.caCert).toString("base64")));

  const ports = await stablePorts(cluster.dir, [OPERATOR.local, METRICS_APISERVER.local], o.log);
  for (const c of [OPERATOR, METRICS_APISERVER]) {
    o.endpoints.forwardPods({ namespace: KEDA_NAMESPACE, labelSelector: c.labelSelector, port: c.port, to: { host: "127.0.0.1", port: ports[c.local] } });
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfigPath,
    WATCH_NAMESPACE: "",
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
    HTTP_PROXY: o.endpoints.podNetworkUrl,
    HTTPS_PROXY: o.endpoints.podNetworkUrl,
    // Only the API server is reached directly: from a pod, 127.0.0.1 is the pod itself, so a
    // scaler pointed at a loopback address must fail here as it would there.
    NO_PROXY: new URL(cluster.server).host,
  };
  // Probe and metrics ports only matter on loopback; the release's Deployments name the cluster-facing ones.
  const [operatorMetrics, operatorProbes, adapterMetrics] = [await freePort(), await freePort(), await freePort()];
  const operator = new Proc(
    "keda-operator",
    build.operator,
    [
      `--metrics-bind-address=127.0.0.1:${operatorMetrics}`,
      `--health-probe-bind-address=127.0.0.1:${operatorProbes}`,
      `--metrics-service-bind-address=127.0.0.1:${ports.kedaGrpc}`,
      "--leader-elect=false",
      // The certificates above stand in for KEDA's own rotation, which would write a Secret and
      // patch the APIService; the install objects already carry the cluster CA.
      "--enable-cert-rotation=false",
      "--enable-webhook-patching=false",
      "--enable-apiservice-patching=false",
      `--cert-dir=${certDir}`,
      // Extra CAs scalers would trust; none here (the default names a path of the container image).
      `--ca-dir=${caDir}`,
      "--zap-log-level=info",
    ],
    cluster.logDir,
    env,
  );
  const metricsApiServer = new Proc(
    "keda-metrics-apiserver",
    build.adapter,
    [
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.kedaMetricsApi}`,
      `--port=${adapterMetrics}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${path.join(certDir, "tls.crt")}`,
      `--tls-private-key-file=${path.join(certDir, "tls.key")}`,
      `--client-ca-file=${path.join(certDir, "ca.crt")}`,
      `--lister-kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      "--zap-log-level=error",
    ],
    cluster.logDir,
    env,
  );
  const procs = [operator, metricsApiServer];
  const stop = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await p.stop();
  };
  try {
    const reg = kc.makeApiClient(k8s.ApiregistrationV1Api);
    await waitFor(
      `APIService ${EXTERNAL_METRICS_APISERVICE} Available (the aggregation layer reaches KEDA's metrics API server)`,
      async () => {
        const svc = await reg.readAPIService({ name: EXTERNAL_METRICS_APISERVICE });
        return svc.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") ? true : undefined;
      },
      { timeoutMs: o.timeoutMs ?? 90_000, intervalMs: 500, watch: procs },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const exited = Promise.race(procs.map((p) => p.exited.then((exit) => `${p.name} ${exit} (see ${p.logPath})`)));
  return { version: build.version, operator, metricsApiServer, exited, stop };
}

/**
 * The release's install objects, with what its kustomize build and cert rotation would fill in:
 * the images of this version (the manifests say `latest`/`main`) and the APIService's CA bundle.
 */
function installObjects(build: Pick<KedaBuild, "version" | "installFiles">, caBundle: string): k8s.KubernetesObject[] {
  const tag = build.version.replace(/^v/, "");
  return build.installFiles.flatMap((f) =>
    (k8s.loadAllYaml(fs.readFileSync(f, "utf8")) as (k8s.KubernetesObject | null)[])
      .filter((o): o is k8s.KubernetesObject => !!o?.kind)
      .map((obj) => {
        const text = JSON.stringify(obj)
          .replace(/"(ghcr\.io\/kedacore\/[a-z-]+):(?:latest|main)"/g, `"$1:${tag}"`)
          .replace(/"app\.kubernetes\.io\/version":"latest"/g, `"app.kubernetes.io/version":"${tag}"`);
        const out = JSON.parse(text) as k8s.KubernetesObject & { spec?: Record<string, unknown> };
        if (out.kind === "APIService") out.spec = { ...out.spec, caBundle };
        return out;
      }),
  );
}
