// What a changing command holds in the cluster: the stack's Lease and, guarded by it, the shared
// copy of the run journal. Taken after the local lock: that one is cheap, needs no cluster, and
// keeps two runs on one machine from loading and changing the stack at once while the Lease can
// only be found once the stack context (kubeconfig, release namespace) is loaded. Both are held
// to the end of the run.
import { SHARED_JOURNAL } from "../../core/defaults.js";
import type { ProgressEmitter } from "../events/emitter.js";
import { acquireClusterLock, leaseTiming, type ClusterLock } from "./lease.js";
import { ClusterJournal } from "../journal/clusterJournal.js";
import type { KubeApi } from "../kube/api.js";

/** What locking needs of a loaded stack: its name and where its release runs. */
export interface LockTarget {
  open: { name: string };
  kube: { api: KubeApi };
  names: { namespace: string };
}

export interface LockedCluster {
  lock: ClusterLock;
  /** The run journal's shared copy; every write first checks the lock is still held. */
  journal: ClusterJournal;
  release(): Promise<void>;
}

export interface LockClusterOptions {
  runId: string;
  command: string;
  /** Whether an expired lock may be taken over: `recover` only. */
  takeover: boolean;
  emit: ProgressEmitter;
  env: NodeJS.ProcessEnv;
}

export async function lockCluster(sc: LockTarget, opts: LockClusterOptions): Promise<LockedCluster> {
  const timing = leaseTiming(opts.env);
  const stack = sc.open.name;
  const lock = await acquireClusterLock({
    api: sc.kube.api,
    namespace: sc.names.namespace,
    stack,
    runId: opts.runId,
    command: opts.command,
    takeover: opts.takeover,
    timing,
    onWarning: (m) => opts.emit.log("warn", "lock", m),
  });
  const journal = new ClusterJournal(sc.kube.api, sc.names.namespace, stack, { guard: () => lock.assertHeld() });
  opts.emit.log(
    "info",
    "lock",
    `holding ${lock.where} (renewed every ${timing.renewSeconds} s, expires ${timing.expirySeconds} s after the last renewal); the journal is shared in ${journal.where}`,
  );
  try {
    const pruned = await journal.prune(SHARED_JOURNAL.keepFinishedRuns);
    if (pruned.length)
      opts.emit.log("info", "lock", `deleted the shared journals of ${pruned.length} old finished run(s) (keeping ${SHARED_JOURNAL.keepFinishedRuns})`);
  } catch (err) {
    opts.emit.log("warn", "lock", `could not delete old shared journals: ${(err as Error).message}`);
  }
  return { lock, journal, release: () => lock.release() };
}

/** The shared journal for reading (status, history): no lock needed. */
export function sharedJournal(sc: LockTarget): ClusterJournal {
  return new ClusterJournal(sc.kube.api, sc.names.namespace, sc.open.name);
}
