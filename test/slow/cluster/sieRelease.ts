/**
 * An SIE release shaped like the sie-cluster chart's (0.3.1: labels, Services, gpu-config, the
 * worker image `<repo>:<tag>-<platform>-<bundle>`, Parallel StatefulSets), created object by object
 * in one namespace so a test can run several releases on one control plane without Helm.
 */
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "./procs.js";

export interface PoolSpec {
  tag: string;
  /** GKE L4 node and one nvidia.com/gpu; otherwise a CPU pool on the untainted node. */
  gpu?: boolean;
  replicas?: number;
}

export interface ReleaseSpec {
  namespace: string;
  gatewayTag: string;
  configTag: string;
  pools: Record<string, PoolSpec>;
}

const RELEASE = "sie";
const FULLNAME = "sie-sie-cluster";
const SELECTOR = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/part-of": "sie" };
const LABELS = { ...SELECTOR, "helm.sh/chart": "sie-cluster-0.3.1", "app.kubernetes.io/version": "0.3.1", "app.kubernetes.io/managed-by": "Helm" };
export const WORKER_SERVICE = `${FULLNAME}-worker`;

export const gatewayImage = (tag: string): string => `ghcr.io/superlinked/sie-gateway:${tag}`;
export const configImage = (tag: string): string => `ghcr.io/superlinked/sie-config:${tag}`;
export const workerImage = (tag: string, gpu = false): string => `ghcr.io/superlinked/sie-server:${tag}-${gpu ? "cuda12" : "cpu"}-default`;
export const workerSet = (pool: string): string => `${FULLNAME}-worker-${pool}`;
export const componentDeployment = (component: "gateway" | "config"): string => `${FULLNAME}-${component}`;

function service(component: string, headless = false): k8s.V1Service {
  return {
    metadata: { name: component === "worker" ? WORKER_SERVICE : `${FULLNAME}-${component}`, labels: { ...LABELS, "app.kubernetes.io/component": component } },
    spec: { ...(headless ? { clusterIP: "None" } : {}), ports: [{ name: "http", port: 8080, targetPort: "http" }], selector: { ...SELECTOR, "app.kubernetes.io/component": component } },
  };
}

function deployment(component: "gateway" | "config", image: string): k8s.V1Deployment {
  const selector = { ...SELECTOR, "app.kubernetes.io/component": component };
  return {
    metadata: { name: componentDeployment(component), labels: { ...LABELS, "app.kubernetes.io/component": component } },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: { metadata: { labels: selector }, spec: { containers: [{ name: component, image, ports: [{ name: "http", containerPort: 8080 }] }] } },
    },
  };
}

function statefulSet(pool: string, p: PoolSpec): k8s.V1StatefulSet {
  const gpuType = p.gpu ? "l4" : "cpu";
  const poolLabels = { "sie.superlinked.com/gpu-type": gpuType, "sie.superlinked.com/machine-profile": gpuType, "sie.superlinked.com/bundle": "default", "sie.superlinked.com/pool": pool };
  const selector = { ...SELECTOR, "app.kubernetes.io/component": "worker", "sie.superlinked.com/pool": pool };
  return {
    metadata: { name: workerSet(pool), labels: { ...LABELS, "app.kubernetes.io/component": "worker", ...poolLabels } },
    spec: {
      serviceName: WORKER_SERVICE,
      replicas: p.replicas ?? 1,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, ...poolLabels } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "worker",
              image: workerImage(p.tag, p.gpu),
              ports: [{ name: "http", containerPort: 8080 }],
              ...(p.gpu ? { resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } } } : {}),
            },
          ],
          ...(p.gpu ? { nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-l4" }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] } : {}),
        },
      },
    },
  };
}

export class SieRelease {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;

  constructor(
    kc: k8s.KubeConfig,
    readonly spec: ReleaseSpec,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }

  get namespace(): string {
    return this.spec.namespace;
  }

  async create(): Promise<void> {
    const namespace = this.namespace;
    await this.core.createNamespace({ body: { metadata: { name: namespace } } });
    // Pods are refused until the serviceaccount controller has made `default`.
    await waitFor(`ServiceAccount default in ${namespace}`, async () => ((await this.core.readNamespacedServiceAccount({ name: "default", namespace })) ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
    for (const c of ["gateway", "config"]) await this.core.createNamespacedService({ namespace, body: service(c) });
    await this.core.createNamespacedService({ namespace, body: service("worker", true) });
    const gpus = [...new Set(Object.values(this.spec.pools).map((p) => (p.gpu ? "l4" : "cpu")))].join(",");
    await this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `${FULLNAME}-gpu-config`, labels: LABELS }, data: { "available-gpus": gpus } } });
    await this.apps.createNamespacedDeployment({ namespace, body: deployment("gateway", gatewayImage(this.spec.gatewayTag)) });
    await this.apps.createNamespacedDeployment({ namespace, body: deployment("config", configImage(this.spec.configTag)) });
    for (const [pool, p] of Object.entries(this.spec.pools)) await this.apps.createNamespacedStatefulSet({ namespace, body: statefulSet(pool, p) });
  }

  private merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);

  async setWorkerTag(pool: string, tag: string): Promise<void> {
    const gpu = this.spec.pools[pool]?.gpu;
    const body = { spec: { template: { spec: { containers: [{ name: "worker", image: workerImage(tag, gpu) }] } } } };
    await this.apps.patchNamespacedStatefulSet({ namespace: this.namespace, name: workerSet(pool), body }, this.merge);
  }

  async setGatewayTag(tag: string): Promise<void> {
    const body = { spec: { template: { spec: { containers: [{ name: "gateway", image: gatewayImage(tag) }] } } } };
    await this.apps.patchNamespacedDeployment({ namespace: this.namespace, name: componentDeployment("gateway"), body }, this.merge);
  }

  async scale(component: "gateway" | "config", replicas: number): Promise<void> {
    await this.apps.patchNamespacedDeployment({ namespace: this.namespace, name: componentDeployment(component), body: { spec: { replicas } } }, this.merge);
  }

  async pods(pool: string): Promise<k8s.V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `sie.superlinked.com/pool=${pool}` })).items;
  }
}

export const isReady = (p: k8s.V1Pod): boolean => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
