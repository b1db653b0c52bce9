import { KubeConfig } from "@kubernetes/client-node";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../sim/index.js";
import type { KObject } from "../../sim/store.js";

/** Faster than the "fast" profile so whole rollouts take well under a second. */
export const TEST_TIMINGS = {
  tickMs: 20,
  podStartMs: 100,
  podReadyMs: 100,
  podTerminateMs: 30,
  crashLoopMs: 200,
  pullBackoffMs: 100,
  simSecondMs: 20,
};

export async function startTestSim(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ profile: "fast", ...opts, timings: { ...TEST_TIMINGS, ...(opts.timings ?? {}) } });
}

export function kubeConfigFor(sim: Simulator, namespace = "sie"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig(namespace));
  return kc;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

export async function api(sim: Simulator, method: string, path: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(`${sim.api}${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": contentType },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}

export const NS = "sie";

export function namespace(name = NS) {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

export function workerStatefulSet(opts: { pool?: string; replicas?: number; tag?: string; policy?: "Parallel" | "OrderedReady"; partition?: number } = {}) {
  const pool = opts.pool ?? "l4";
  const labels = {
    "app.kubernetes.io/name": "sie-cluster",
    "app.kubernetes.io/instance": "sie",
    "app.kubernetes.io/component": "worker",
    "sie.superlinked.com/pool": pool,
  };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: `sie-worker-${pool}`, namespace: NS, labels },
    spec: {
      replicas: opts.replicas ?? 3,
      serviceName: "sie-worker",
      podManagementPolicy: opts.policy ?? "Parallel",
      ...(opts.partition !== undefined ? { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: opts.partition } } } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, "sie.superlinked.com/gpu-type": "nvidia-l4", "sie.superlinked.com/machine-profile": pool, "sie.superlinked.com/bundle": "default" } },
        spec: {
          containers: [
            {
              name: "sie-server",
              image: `ghcr.io/superlinked/sie-server:${opts.tag ?? "v0.3.1"}-cuda12-default`,
              ports: [{ name: "http", containerPort: 8080 }],
              resources: { limits: { "nvidia.com/gpu": "1" } },
            },
          ],
          tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
        },
      },
    },
  };
}

export function componentDeployment(component: "gateway" | "config", opts: { replicas?: number; tag?: string; paused?: boolean } = {}) {
  const labels = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": "sie", "app.kubernetes.io/component": component };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `sie-${component}`, namespace: NS, labels },
    spec: {
      replicas: opts.replicas ?? 2,
      ...(opts.paused ? { paused: true } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: component, image: `ghcr.io/superlinked/sie-${component}:${opts.tag ?? "v0.3.1"}`, ports: [{ name: "http", containerPort: 8080 }] }] },
      },
    },
  };
}

export function scaledObject(pool = "l4", opts: { min?: number; max?: number; fallback?: number; annotations?: Record<string, string>; target?: string } = {}) {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: `sie-worker-${pool}-scaler`, namespace: NS, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      scaleTargetRef: { kind: "StatefulSet", name: opts.target ?? `sie-worker-${pool}` },
      minReplicaCount: opts.min ?? 1,
      maxReplicaCount: opts.max ?? 5,
      pollingInterval: 15,
      ...(opts.fallback !== undefined ? { fallback: { failureThreshold: 3, replicas: opts.fallback } } : {}),
      triggers: [
        {
          type: "prometheus",
          metadata: {
            serverAddress: "http://prometheus:9090",
            query: `sum(sie_gateway_worker_queue_depth{machine_profile="${pool}",bundle="default"}) or vector(0)`,
            threshold: "10",
            activationThreshold: "2",
          },
        },
      ],
    },
  };
}

export async function create(sim: Simulator, path: string, obj: unknown): Promise<KObject> {
  const r = await api(sim, "POST", path, obj);
  if (r.status !== 201) throw new Error(`create ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as KObject;
}

export const STS_PATH = `/apis/apps/v1/namespaces/${NS}/statefulsets`;
export const DEPLOY_PATH = `/apis/apps/v1/namespaces/${NS}/deployments`;
export const SO_PATH = `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects`;
