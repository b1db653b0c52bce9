// A small SIE deployment on the simulator for the verification tests: worker pools, gateway and
// config created through client-node (no Pulumi engine), and "upgrades" done by replacing a
// workload's image the way the release update would.
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { KubeClient, waitForRollout } from "../../automation/kube/index.js";
import type { ReleaseNames } from "../../automation/workloads.js";
import { startSimulator, type Simulator } from "../../sim/index.js";
import { componentDeployment, scaledObject, TEST_TIMINGS, workerStatefulSet } from "../sim/helpers.js";

export const NS = "sie";
const WAIT = { timeoutMs: 15_000, pollMs: 25, notReadyAfterMs: 60_000 };

export interface Fleet {
  sim: Simulator;
  kube: KubeClient;
  names: ReleaseNames;
  pools: string[];
  stop(): Promise<void>;
}

export interface FleetOptions {
  pools?: string[];
  replicas?: number;
  tag?: string;
  timings?: Record<string, number>;
  /** Create a ScaledObject per pool (with a fallback). */
  scaledObjects?: boolean;
}

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const pools = opts.pools ?? ["l4"];
  const tag = opts.tag ?? "v0.3.1";
  const sim = await startSimulator({ profile: "fast", timings: { ...TEST_TIMINGS, ...(opts.timings ?? {}) }, sieNamespace: NS });
  const kube = KubeClient.fromKubeconfig({ kubeconfig: sim.kubeconfig(NS) });
  await kube.api.core.createNamespace({ body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } });
  for (const pool of pools) {
    await kube.api.apps.createNamespacedStatefulSet({ namespace: NS, body: workerStatefulSet({ pool, replicas: opts.replicas ?? 2, tag }) as V1StatefulSet });
    if (opts.scaledObjects) {
      await kube.api.custom.createNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects", body: scaledObject(pool, { min: 1, max: 4, fallback: 3 }) });
    }
  }
  for (const c of ["gateway", "config"] as const) {
    await kube.api.apps.createNamespacedDeployment({ namespace: NS, body: componentDeployment(c, { replicas: 1, tag }) as V1Deployment });
  }
  const names: ReleaseNames = {
    namespace: NS,
    fullname: "sie",
    gatewayDeployment: "sie-gateway",
    configDeployment: "sie-config",
    statefulSets: Object.fromEntries(pools.map((p) => [p, `sie-worker-${p}`])),
  };
  const fleet: Fleet = { sim, kube, names, pools, stop: () => sim.stop() };
  await Promise.all([...pools.map((p) => waitRollout(fleet, "StatefulSet", `sie-worker-${p}`)), waitRollout(fleet, "Deployment", "sie-gateway"), waitRollout(fleet, "Deployment", "sie-config")]);
  return fleet;
}

export async function waitRollout(f: Fleet, kind: "StatefulSet" | "Deployment", name: string): Promise<string> {
  const r = await waitForRollout(f.kube.api, NS, kind, name, WAIT);
  return r.status;
}

/** Sets a pool's worker image to `<tag>-cuda12-default`; waits for the rollout unless told not to. */
export async function upgradePool(f: Fleet, pool: string, tag: string, wait = true): Promise<void> {
  const name = `sie-worker-${pool}`;
  const sts = await f.kube.api.getStatefulSet(NS, name);
  sts.spec!.template.spec!.containers[0]!.image = `ghcr.io/superlinked/sie-server:${tag}-cuda12-default`;
  await f.kube.api.apps.replaceNamespacedStatefulSet({ name, namespace: NS, body: sts });
  if (wait) await waitRollout(f, "StatefulSet", name);
}

export async function upgradeComponent(f: Fleet, component: "gateway" | "config", tag: string, wait = true): Promise<void> {
  const name = `sie-${component}`;
  const dep = await f.kube.api.getDeployment(NS, name);
  dep.spec!.template.spec!.containers[0]!.image = `ghcr.io/superlinked/sie-${component}:${tag}`;
  await f.kube.api.apps.replaceNamespacedDeployment({ name, namespace: NS, body: dep });
  if (wait) await waitRollout(f, "Deployment", name);
}

/** Fast retry policy for tests (the stack defaults wait seconds between attempts). */
export const FAST_GATES = { retries: 3, backoffSeconds: 0.1, checkTimeoutSeconds: 5 } as const;

export async function simControl(sim: Simulator, path: string, body: unknown): Promise<unknown> {
  const r = await fetch(`${sim.api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST ${path} → ${r.status}: ${await r.text()}`);
  return r.json();
}
