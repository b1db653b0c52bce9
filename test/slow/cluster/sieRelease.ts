/**
 * An SIE release installed with the real sie-cluster chart (0.3.1, ../shared/charts) by the real
 * helm client, one per namespace, so a test can run several releases on one control plane. Pools
 * run small CPU workers unless `gpu` (the chart's l4 pool shape on the fake GKE L4 node). The
 * chart gives every pool the same worker tag; a pool with its own `tag` is patched afterwards, as
 * the upgrade engine's waves do.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../../../core/paths.js";
import { helm, SHARED_CHARTS } from "../../chart/helm.js";

export interface PoolSpec {
  gpu?: boolean;
  /** The worker tag when not the release's `workerTag`. */
  tag?: string;
}

export interface ReleaseSpec {
  namespace: string;
  gatewayTag: string;
  configTag: string;
  workerTag: string;
  pools: Record<string, PoolSpec>;
}

const RELEASE = "sie";
const FULLNAME = "sie-sie-cluster";
const CHART = path.join(SHARED_CHARTS, "sie-cluster-0.3.1");
/** Small enough that a dozen releases fit on the fake CPU node; kwok pods use nothing anyway. */
const SMALL = { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "1", memory: "1Gi" } };

/** Why helm cannot run without a build first (a cold one takes many minutes), or undefined. */
export function helmMissing(): string | undefined {
  const r = spawnSync(path.join(REPO_ROOT, "scripts/ensure-kube-tools"), ["--provider", "--check"], { encoding: "utf8" });
  if (r.status === 0) return undefined;
  return (r.stderr || "").trim().split("\n").pop() || "the helm client is not built: run scripts/ensure-kube-tools --provider";
}

export const workerImage = (tag: string, gpu = false): string => `ghcr.io/superlinked/sie-server:${tag}-${gpu ? "cuda12" : "cpu"}-default`;
export const workerSet = (pool: string): string => `${FULLNAME}-worker-${pool}`;
const deploymentOf = (component: "gateway" | "config"): string => `${FULLNAME}-${component}`;

function values(spec: ReleaseSpec): unknown {
  const pools = Object.fromEntries(
    Object.entries(spec.pools).map(([name, p]) => [
      name,
      p.gpu
        ? {
            enabled: true,
            minReplicas: 1,
            maxReplicas: 1,
            gpuType: "l4",
            machineProfile: "l4",
            nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-l4" },
            resources: SMALL,
          }
        : {
            enabled: true,
            minReplicas: 1,
            maxReplicas: 1,
            gpuType: "cpu",
            machineProfile: "cpu",
            platform: "cpu",
            bundle: "default",
            gpu: { count: 0, product: "" },
            resources: SMALL,
            tolerations: [],
          },
    ]),
  );
  return {
    // The NATS sub-chart is not part of the offline copy; nothing connects to it here.
    nats: { url: "nats://127.0.0.1:4222" },
    gateway: { image: { tag: spec.gatewayTag }, resources: SMALL },
    config: { image: { tag: spec.configTag }, resources: SMALL },
    workers: { common: { image: { tag: spec.workerTag }, imagePrepull: { enabled: false } }, pools },
    // ScaledObjects come from a hook Job, which never completes on a kwok node.
    autoscaling: { enabled: false },
  };
}

export class SieRelease {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  private readonly merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);

  constructor(
    private readonly kubeconfigPath: string,
    readonly spec: ReleaseSpec,
  ) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }

  get namespace(): string {
    return this.spec.namespace;
  }

  /** `helm install`, then the pools with their own tag. */
  async install(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-release-"));
    try {
      const file = path.join(dir, "values.json");
      fs.writeFileSync(file, JSON.stringify(values(this.spec)));
      await helm(["install", RELEASE, CHART, "--kubeconfig", this.kubeconfigPath, "--namespace", this.namespace, "--create-namespace", "--values", file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const [pool, p] of Object.entries(this.spec.pools)) if (p.tag) await this.setWorkerTag(pool, p.tag);
  }

  async setWorkerTag(pool: string, tag: string): Promise<void> {
    const body = { spec: { template: { spec: { containers: [{ name: "worker", image: workerImage(tag, this.spec.pools[pool]?.gpu) }] } } } };
    await this.apps.patchNamespacedStatefulSet({ namespace: this.namespace, name: workerSet(pool), body }, this.merge);
  }

  async setGatewayTag(tag: string): Promise<void> {
    const body = { spec: { template: { spec: { containers: [{ name: "gateway", image: `ghcr.io/superlinked/sie-gateway:${tag}` }] } } } };
    await this.apps.patchNamespacedDeployment({ namespace: this.namespace, name: deploymentOf("gateway"), body }, this.merge);
  }

  async scale(component: "gateway" | "config", replicas: number): Promise<void> {
    await this.apps.patchNamespacedDeployment({ namespace: this.namespace, name: deploymentOf(component), body: { spec: { replicas } } }, this.merge);
  }

  async pods(pool: string): Promise<k8s.V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `sie.superlinked.com/pool=${pool}` })).items;
  }
}

export const isReady = (p: k8s.V1Pod): boolean =>
  !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
