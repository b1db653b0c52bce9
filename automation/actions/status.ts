// `sie-fleet status`: what runs now per component and pool (images, readiness, rollout), the
// run holding the stack lock and any run that never finished.
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { incompleteRun } from "../journal.js";
import { readLock, type LockHolder } from "../lock.js";
import { SCALED_OBJECTS, pauseAnnotations, rolloutStatus } from "../kube/index.js";
import { assertStackName } from "../stackName.js";
import type { ActionContext } from "../types.js";
import { releaseWorkloads } from "../workloads.js";
import { loadStackContext } from "./context.js";
import { stackTarget } from "./target.js";

export interface StatusOptions {
  stack: string;
}

export interface WorkloadStatus {
  kind: "StatefulSet" | "Deployment";
  name: string;
  image?: string;
  ready: number;
  desired: number;
  done: boolean;
  reason: string;
}

export interface StatusReport {
  stack: string;
  imageTag?: string;
  workloads: WorkloadStatus[];
  /** KEDA ScaledObjects: paused replicas and conditions. */
  scaledObjects?: { name: string; pausedReplicas?: string; ready?: string; fallback?: string }[];
  /** The run holding the stack's lock, if any. */
  lock?: LockHolder;
  /** A run that never finished (run `recover`). */
  incompleteRunId?: string;
}

export async function status(opts: StatusOptions, ctx: ActionContext): Promise<StatusReport> {
  assertStackName(opts.stack);
  const sc = await loadStackContext(stackTarget(opts.stack, ctx));
  const ns = sc.names.namespace;
  const list = await Promise.all(
    releaseWorkloads(sc.names).map(async (w): Promise<WorkloadStatus> => {
      const obj: V1StatefulSet | V1Deployment = w.kind === "StatefulSet" ? await sc.kube.api.getStatefulSet(ns, w.name) : await sc.kube.api.getDeployment(ns, w.name);
      const st = rolloutStatus(obj, w.kind);
      const image = obj.spec?.template?.spec?.containers?.[0]?.image;
      return { kind: w.kind, name: w.name, ...(image ? { image } : {}), ready: obj.status?.readyReplicas ?? 0, desired: obj.spec?.replicas ?? 0, done: st.done, reason: st.reason };
    }),
  );
  const sos = await sc.kube.api.listCustomObjects(SCALED_OBJECTS, ns);
  const scaledObjects = sos.map((so) => {
    const conds = ((so.status?.["conditions"] ?? []) as { type: string; status: string }[]);
    const paused = pauseAnnotations(so).pausedReplicas;
    const ready = conds.find((c) => c.type === "Ready")?.status;
    const fallback = conds.find((c) => c.type === "Fallback")?.status;
    return { name: so.metadata?.name ?? "?", ...(paused ? { pausedReplicas: paused } : {}), ...(ready ? { ready } : {}), ...(fallback ? { fallback } : {}) };
  });
  const lock = await readLock(ctx.stateDir, opts.stack);
  const incomplete = await incompleteRun(ctx.stateDir, opts.stack);
  return { stack: opts.stack, imageTag: sc.imageTag, workloads: list, scaledObjects, ...(lock ? { lock } : {}), ...(incomplete ? { incompleteRunId: incomplete.runId } : {}) };
}
