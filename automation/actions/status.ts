// `sie-fleet status`: what runs now per component and pool (images, readiness, rollout), who
// holds the stack's lock (the Lease in the cluster, else this machine's lock) and the phase of a
// run that is under way or never finished, read from the shared journal: the same from any machine.
import * as os from "node:os";
import { incompleteRun, type JournalRead } from "../journal/journal.js";
import { readClusterLock } from "../locks/lease.js";
import { isProcessAlive } from "../../core/processes.js";
import { lockPath, machineId, readLock, type LockHolder } from "../locks/fileLock.js";
import { SCALED_OBJECTS, pauseAnnotations, readWorkload, rolloutStatus, scaledObjectConditions } from "../kube/index.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext } from "../../core/types.js";
import { releaseWorkloads } from "../../core/workloads.js";
import { sharedJournal } from "../locks/clusterLock.js";
import { loadStackContext, type StackContext } from "./context.js";
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
  /**
   * The run holding the stack's lock, if any: `where` names the Lease (or this machine's lock
   * file); `expired` once its holder stopped renewing it past the expiry, `gone` when the holder
   * ran on this machine and its process no longer exists.
   */
  lock?: LockHolder & { where: string; expired?: boolean; gone?: boolean };
  /** The newest run without an outcome: under way while `live`, else waiting for `recover`. */
  run?: RunProgress;
  /** The same run's id (run `recover` unless it is live). */
  incompleteRunId?: string;
}

export interface RunProgress {
  runId: string;
  command?: string;
  startedAt?: string;
  /** Phase and step (journal action) of its newest journal entry, and when that was written. */
  phase: string;
  step?: string;
  updatedAt: string;
  /** A lock holder that has not expired is working on it. */
  live: boolean;
  /** Which copies of the journal were read: "shared" means it ran on another machine. */
  journal: JournalRead["source"];
}

function progressOf(read: JournalRead, live: boolean): RunProgress {
  const first = read.entries[0];
  const last = read.entries.at(-1);
  return {
    runId: read.runId,
    ...(first?.command ? { command: first.command } : {}),
    ...(first ? { startedAt: first.time } : {}),
    phase: last?.phase ?? "lock",
    ...(last?.action ? { step: last.action } : {}),
    updatedAt: last?.time ?? "?",
    live,
    journal: read.source,
  };
}

export async function status(opts: StatusOptions, ctx: ActionContext): Promise<StatusReport> {
  assertStackName(opts.stack);
  const sc = await loadStackContext(stackTarget(opts.stack, ctx));
  const ns = sc.names.namespace;
  const list = await Promise.all(
    releaseWorkloads(sc.names).map(async (w): Promise<WorkloadStatus> => {
      const obj = await readWorkload(sc.kube.api, ns, w.kind, w.name);
      const st = rolloutStatus(obj, w.kind);
      const image = obj.spec?.template?.spec?.containers?.[0]?.image;
      return {
        kind: w.kind,
        name: w.name,
        ...(image ? { image } : {}),
        ready: obj.status?.readyReplicas ?? 0,
        desired: obj.spec?.replicas ?? 0,
        done: st.done,
        reason: st.reason,
      };
    }),
  );
  const sos = await sc.kube.api.listCustomObjects(SCALED_OBJECTS, ns);
  const scaledObjects = sos.map((so) => {
    const conds = scaledObjectConditions(so);
    const paused = pauseAnnotations(so).pausedReplicas;
    const ready = conds.find((c) => c.type === "Ready")?.status;
    const fallback = conds.find((c) => c.type === "Fallback")?.status;
    return { name: so.metadata?.name ?? "?", ...(paused ? { pausedReplicas: paused } : {}), ...(ready ? { ready } : {}), ...(fallback ? { fallback } : {}) };
  });
  const lock = await currentLock(sc, ctx.stateDir);
  const incomplete = await incompleteRun(ctx.stateDir, opts.stack, sharedJournal(sc));
  const run = incomplete ? progressOf(incomplete, lock !== undefined && lock.expired !== true && !lock.gone) : undefined;
  return {
    stack: opts.stack,
    imageTag: sc.imageTag,
    workloads: list,
    scaledObjects,
    ...(lock ? { lock } : {}),
    ...(run ? { run, incompleteRunId: run.runId } : {}),
  };
}

/** The Lease's holder, which every machine sees; else the holder of this machine's lock file. */
async function currentLock(sc: StackContext, stateDir: string): Promise<StatusReport["lock"]> {
  const inCluster = await readClusterLock(sc.kube.api, sc.names.namespace, sc.open.name);
  if (inCluster) {
    const { machine, ...holder } = inCluster;
    return { ...holder, ...(machine === machineId() && !isProcessAlive(holder.pid) ? { gone: true } : {}) };
  }
  const local = await readLock(stateDir, sc.open.name);
  return local
    ? { ...local, where: lockPath(stateDir, sc.open.name), ...(local.host === os.hostname() && !isProcessAlive(local.pid) ? { gone: true } : {}) }
    : undefined;
}
