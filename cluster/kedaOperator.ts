/**
 * The real KEDA operator (github.com/kedacore/keda/v2, built by `ensure-kube-tools --keda`) run
 * out of cluster against a control plane of controlPlane.ts. It reconciles ScaledObjects into HPAs and honours
 * `autoscaling.keda.sh/paused-replicas` by scaling the target itself.
 *
 * Scalers may dial whatever a ScaledObject names. Tests should use triggers that dial nothing
 * (cron); as a safety net every HTTP(S) request the operator makes to anything but loopback goes
 * to a proxy address on 127.0.0.1 where nothing listens.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { issueServingCert } from "./certs.js";
import type { ControlPlane } from "./controlPlane.js";
import { freePort } from "./ports.js";
import { httpGet, Proc, waitFor } from "./procs.js";

export const KEDA_NAMESPACE = "keda";

export interface KedaOperator {
  proc: Proc;
  stop(): Promise<void>;
}

export async function startKedaOperator(cluster: ControlPlane, bin: string, timeoutMs = 120_000): Promise<KedaOperator> {
  const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: KEDA_NAMESPACE } } }).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 409) throw err;
  });

  // The operator's gRPC metrics service insists on a certificate (ca.crt, tls.crt, tls.key).
  const certDir = path.join(cluster.dir, "keda", "certs");
  const caDir = path.join(cluster.dir, "keda", "ca");
  fs.mkdirSync(certDir, { recursive: true });
  fs.mkdirSync(caDir, { recursive: true });
  const serving = issueServingCert(cluster.pki, "keda-operator");
  fs.copyFileSync(cluster.pki.caCert, path.join(certDir, "ca.crt"));
  fs.copyFileSync(serving.cert, path.join(certDir, "tls.crt"));
  fs.copyFileSync(serving.key, path.join(certDir, "tls.key"));

  const [metricsPort, probePort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const deadProxy = `http://127.0.0.1:${await freePort()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    WATCH_NAMESPACE: "",
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
    HTTP_PROXY: deadProxy,
    HTTPS_PROXY: deadProxy,
    NO_PROXY: "127.0.0.1,localhost",
  };
  const proc = new Proc(
    "keda-operator",
    bin,
    [
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
      "--leader-elect=false",
      "--enable-cert-rotation=false",
      "--enable-webhook-patching=false",
      "--enable-apiservice-patching=false",
      `--cert-dir=${certDir}`,
      `--ca-dir=${caDir}`,
    ],
    cluster.logDir,
    env,
  );
  try {
    await waitFor("keda-operator /readyz", async () => ((await httpGet(`http://127.0.0.1:${probePort}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs,
      intervalMs: 500,
      watch: [proc],
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, stop: () => proc.stop() };
}
