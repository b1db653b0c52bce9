/**
 * The stack's lock in the cluster: a coordination.k8s.io/v1 Lease `sie-fleet-lock-<stack>` in the
 * release namespace, so every operator and CI runner that can reach the cluster sees it (the
 * local lock file only stops runs on one machine). The holder renews it on a timer while the run
 * lives; a holder that stopped renewing is taken over after the expiry by `recover` only, because
 * its run left work that must be finished or undone before anything else changes the stack. A
 * holder on this machine (same kernel and pid namespace) whose process is gone is certainly dead
 * and is taken over at once, as the local lock does.
 *
 * Writes carry the resourceVersion they were based on, so two runs racing for the Lease cannot
 * both win: the API server refuses the second (409) and it re-reads.
 */
import * as os from "node:os";
import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { CLUSTER_LOCK, FLEET_METADATA } from "../../core/defaults.js";
import { InternalError, LockLostError, StackError, StackLockedError, UsageError, type LockHolder } from "../../core/errors.js";
import { isProcessAlive } from "../../core/processes.js";
import { machineId } from "./fileLock.js";
import { isConflict, isNotFound, type KubeApi } from "../kube/api.js";
import { fleetObjectName, stackLabels } from "../kube/fleetNames.js";

export interface LeaseTiming {
  /** A holder that has not renewed for this long may be taken over (by recover). */
  expirySeconds: number;
  renewSeconds: number;
}

/** The lock's timing: CLUSTER_LOCK, or the environment's overrides (whole seconds). */
export function leaseTiming(env: NodeJS.ProcessEnv = process.env): LeaseTiming {
  const read = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}="${raw}" is not a whole number of seconds ≥ 1`, { code: "bad-lock-timing" });
    return n;
  };
  const expirySeconds = read(CLUSTER_LOCK.expiryEnv) ?? CLUSTER_LOCK.expirySeconds;
  const renewSeconds = read(CLUSTER_LOCK.renewEnv) ?? Math.min(CLUSTER_LOCK.renewSeconds, Math.max(1, Math.floor(expirySeconds / 4)));
  if (renewSeconds * 2 > expirySeconds) {
    throw new UsageError(
      `${CLUSTER_LOCK.renewEnv} (${renewSeconds} s) must be at most half of ${CLUSTER_LOCK.expiryEnv} (${expirySeconds} s), so one failed renewal does not lose the lock`,
      { code: "bad-lock-timing" },
    );
  }
  return { expirySeconds, renewSeconds };
}

export function leaseName(stack: string): string {
  return fleetObjectName("sie-fleet-lock", stack);
}

/** The holder of the stack's Lease, as every client sees it. */
export interface ClusterLockState extends LockHolder {
  where: string;
  renewedAt: string;
  expiresAt: string;
  /** The holder stopped renewing long enough ago that `recover` may take the lock over. */
  expired: boolean;
  /** machineId() of the holder's process, when it could tell. */
  machine?: string;
}

export interface ClusterLockOptions {
  api: KubeApi;
  namespace: string;
  stack: string;
  runId: string;
  /** The command line shown to whoever is refused, e.g. "upgrade --to v0.3.2". */
  command: string;
  /** Whether this run may take over a lock whose holder stopped renewing (recover only). */
  takeover: boolean;
  timing: LeaseTiming;
  /** Told when a stale lock is taken over, or when releasing the lock failed. */
  onWarning?: (message: string) => void;
  /** Overridable for tests. */
  now?: () => number;
  isAlive?: (pid: number) => boolean;
}

export interface ClusterLock {
  /** "Lease <namespace>/<name>". */
  readonly where: string;
  readonly holder: LockHolder;
  /** The holder whose stale lock this run took over, if any. */
  readonly tookOver: ClusterLockState | undefined;
  /** Throws LockLostError unless this run still certainly holds the lock. Call before every side effect. */
  assertHeld(): void;
  /** Stops renewing and deletes the Lease if it is still ours. Never throws; safe to call twice. */
  release(): Promise<void>;
}

function leaseWhere(namespace: string, stack: string): string {
  return `Lease ${namespace}/${leaseName(stack)}`;
}

function timeOf(t: unknown): number {
  if (t instanceof Date) return t.getTime();
  return typeof t === "string" ? Date.parse(t) : NaN;
}

function holderOf(lease: V1Lease, where: string, now: number): ClusterLockState | undefined {
  const spec = lease.spec;
  if (!spec?.holderIdentity) return undefined;
  const a = lease.metadata?.annotations ?? {};
  const acquired = timeOf(spec.acquireTime);
  const renewed = timeOf(spec.renewTime ?? spec.acquireTime);
  const expires = renewed + (spec.leaseDurationSeconds ?? CLUSTER_LOCK.expirySeconds) * 1000;
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : "?");
  const machine = a[FLEET_METADATA.machine];
  return {
    pid: Number(a[FLEET_METADATA.pid] ?? -1),
    host: a[FLEET_METADATA.host] ?? "?",
    runId: a[FLEET_METADATA.runId] ?? spec.holderIdentity,
    command: a[FLEET_METADATA.command] ?? "?",
    startedAt: iso(acquired),
    where,
    renewedAt: iso(renewed),
    expiresAt: iso(expires),
    // A lease with unreadable times was not written by us: treat it as expired so recover can clear it.
    expired: !(now <= expires),
    ...(machine ? { machine } : {}),
  };
}

/** Who holds the stack's lock in the cluster, if anyone. */
export async function readClusterLock(api: KubeApi, namespace: string, stack: string, now: number = Date.now()): Promise<ClusterLockState | undefined> {
  try {
    return holderOf(await api.getLease(namespace, leaseName(stack)), leaseWhere(namespace, stack), now);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Takes the stack's Lease or throws StackLockedError (exit 3) naming the holder, where the lock
 * is and since when. The returned lock renews itself until `release()`.
 */
export async function acquireClusterLock(opts: ClusterLockOptions): Promise<ClusterLock> {
  const { api, namespace, stack } = opts;
  const name = leaseName(stack);
  const where = leaseWhere(namespace, stack);
  const now = opts.now ?? Date.now;
  const isAlive = opts.isAlive ?? isProcessAlive;
  const machine = machineId();
  const startedAt = now();
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    runId: opts.runId,
    command: opts.command,
    startedAt: new Date(startedAt).toISOString(),
    where,
  };

  const body = (at: number, transitions: number, resourceVersion?: string): V1Lease => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      ...(resourceVersion ? { resourceVersion } : {}),
      labels: stackLabels(stack),
      annotations: {
        [FLEET_METADATA.stack]: stack,
        [FLEET_METADATA.runId]: opts.runId,
        [FLEET_METADATA.command]: opts.command,
        [FLEET_METADATA.host]: me.host,
        [FLEET_METADATA.pid]: String(me.pid),
        [FLEET_METADATA.machine]: machine,
      },
    },
    spec: {
      holderIdentity: `${me.host}/${me.pid}/${opts.runId}`,
      leaseDurationSeconds: opts.timing.expirySeconds,
      acquireTime: new V1MicroTime(startedAt),
      renewTime: new V1MicroTime(at),
      leaseTransitions: transitions,
    },
  });

  for (let attempt = 0; attempt < 5; attempt++) {
    let current: V1Lease | undefined;
    try {
      current = await api.getLease(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const at = now();
    if (!current) {
      try {
        return new LeaseHandle(opts, where, me, await api.createLease(namespace, body(at, 0)), at, undefined, now);
      } catch (err) {
        if (isConflict(err)) continue;
        if (isNotFound(err)) {
          throw new StackError(
            "namespace-missing",
            `cannot take the lock of stack "${stack}": its release namespace ${namespace} does not exist in the cluster at ${api.server} (the lock and the run journal live there)`,
            {
              hint: `sie-fleet up --stack ${stack}`,
              cause: err,
            },
          );
        }
        throw err;
      }
    }
    const holder = holderOf(current, where, at);
    if (holder) {
      if (holder.runId === opts.runId) throw new InternalError(`run ${opts.runId} already holds ${where}`);
      const dead = holder.machine === machine && holder.pid > 0 && !isAlive(holder.pid);
      if (!holder.expired && !dead) throw new StackLockedError(stack, holder, where);
      if (!dead && !opts.takeover) {
        throw new StackLockedError(stack, holder, where, {
          reason: `its holder stopped renewing the lock at ${holder.renewedAt} and it expired at ${holder.expiresAt}; only \`sie-fleet recover --stack ${stack}\` takes over an expired lock, because it finishes or undoes that run first`,
        });
      }
    }
    try {
      const taken = await api.replaceLease(namespace, body(at, (current.spec?.leaseTransitions ?? 0) + (holder ? 1 : 0), current.metadata?.resourceVersion));
      if (holder) {
        const why = holder.expired ? `it stopped renewing at ${holder.renewedAt} and expired at ${holder.expiresAt}` : "its process on this machine is gone";
        opts.onWarning?.(
          `took over the lock of stack "${stack}" (${where}) from \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, run ${holder.runId}, since ${holder.startedAt}): ${why}`,
        );
      }
      return new LeaseHandle(opts, where, me, taken, at, holder, now);
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) continue;
      throw err;
    }
  }
  const latest = await readClusterLock(api, namespace, stack, now());
  throw new StackLockedError(stack, latest ?? me, where, { reason: "several runs were taking the lock at the same moment" });
}

class LeaseHandle implements ClusterLock {
  private lease: V1Lease;
  private lastRenewMs: number;
  private lost: string | undefined;
  private lastError: string | undefined;
  private released = false;
  private inflight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly opts: ClusterLockOptions,
    readonly where: string,
    readonly holder: LockHolder,
    lease: V1Lease,
    renewedAt: number,
    readonly tookOver: ClusterLockState | undefined,
    private readonly now: () => number,
  ) {
    this.lease = lease;
    this.lastRenewMs = renewedAt;
    this.timer = setInterval(() => void this.renew(), opts.timing.renewSeconds * 1000);
    // The run's own work keeps the process alive; a forgotten release must not.
    this.timer.unref();
  }

  private renew(): Promise<void> {
    if (this.released || this.lost !== undefined || this.inflight) return this.inflight ?? Promise.resolve();
    const { api, namespace, stack } = this.opts;
    const at = this.now();
    this.inflight = (async () => {
      try {
        this.lease = await api.replaceLease(namespace, { ...this.lease, spec: { ...this.lease.spec, renewTime: new V1MicroTime(at) } });
        this.lastRenewMs = at;
        this.lastError = undefined;
      } catch (err) {
        this.lastError = (err as Error).message;
        if (!isConflict(err) && !isNotFound(err)) return; // unreachable for now: assertHeld decides once the deadline passes
        const current = await readClusterLock(api, namespace, stack, this.now()).catch(() => undefined);
        if (current === undefined) this.lost = `${this.where} was deleted`;
        else if (current.runId !== this.holder.runId)
          this.lost = `\`${current.command}\` (pid ${current.pid} on ${current.host}, run ${current.runId}) took it over`;
        else this.lease = await api.getLease(namespace, this.lease.metadata?.name ?? "").catch(() => this.lease);
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  assertHeld(): void {
    const { expirySeconds, renewSeconds } = this.opts.timing;
    // Give up a renewal interval before anyone may take the lock over, so a slow step never overlaps a takeover.
    if (this.lost === undefined && this.now() > this.lastRenewMs + (expirySeconds - renewSeconds) * 1000) {
      this.lost = `it could not be renewed since ${new Date(this.lastRenewMs).toISOString()}${this.lastError ? ` (${this.lastError})` : ""}, so recover may take it over`;
    }
    if (this.released) this.lost ??= "it was released";
    if (this.lost !== undefined) throw new LockLostError(this.opts.stack, `run ${this.holder.runId} no longer holds the lock (${this.where}): ${this.lost}`);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.inflight;
    if (this.lost !== undefined) return;
    const { api, namespace, stack } = this.opts;
    const name = this.lease.metadata?.name ?? "";
    try {
      await api.deleteLease(namespace, name, this.lease.metadata?.resourceVersion ?? "");
    } catch (err) {
      if (isNotFound(err)) return;
      // Changed since our last write: delete it only if it is still ours.
      const current = isConflict(err) ? await readClusterLock(api, namespace, stack, this.now()).catch(() => undefined) : undefined;
      if (isConflict(err) && current?.runId !== this.holder.runId) return;
      const retry = isConflict(err)
        ? await api
            .getLease(namespace, name)
            .then((l) => api.deleteLease(namespace, name, l.metadata?.resourceVersion ?? ""))
            .then(
              () => true,
              () => false,
            )
        : false;
      if (!retry) {
        this.opts.onWarning?.(
          `could not release the lock of stack "${stack}" (${this.where}): ${(err as Error).message}; it expires ${this.opts.timing.expirySeconds} s after its last renewal, then \`sie-fleet recover --stack ${stack}\` clears it`,
        );
      }
    }
  }
}
