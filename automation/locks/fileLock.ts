/**
 * Per-stack run lock: `<stateDir>/locks/<stack>.json`, created with O_EXCL so exactly one
 * process wins. A second run is refused with an error naming the holder. A lock whose process
 * is dead on this host is taken over (with a warning), because a killed run must not block the
 * `recover` that cleans up after it. Locks held from another host are never taken over: we
 * cannot tell whether that process is alive.
 *
 * Pulumi's own file-backend lock only covers a single `up`; ours covers the whole run (freeze,
 * holds, waves, revert), which spans several Pulumi operations.
 */
import { createHash } from "node:crypto";
import { constants as fsConstants, promises as fsp, readFileSync, readlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TIMEOUTS } from "../../core/defaults.js";
import { InternalError, StackLockedError, type LockHolder } from "../../core/errors.js";
import { isProcessAlive } from "../../core/processes.js";
import { assertStackName } from "../../core/stackName.js";

export type { LockHolder } from "../../core/errors.js";

export interface AcquireLockOptions {
  stateDir: string;
  stack: string;
  runId: string;
  /** The command line shown to whoever is refused, e.g. "upgrade --to v0.3.2". */
  command: string;
  /** Told when a stale lock is taken over. */
  onWarning?: (message: string, previous: LockHolder) => void;
  /** Overridable for tests. */
  pid?: number;
  host?: string;
  now?: () => number;
  /** Decides whether a pid on this host is alive; default `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
}

export interface LockHandle {
  readonly path: string;
  readonly holder: LockHolder;
  /** The holder whose stale lock we replaced, if any. */
  readonly tookOver: LockHolder | undefined;
  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

export function lockPath(stateDir: string, stack: string): string {
  return path.join(stateDir, "locks", `${assertStackName(stack)}.json`);
}

export async function readLock(stateDir: string, stack: string): Promise<LockHolder | undefined> {
  return readHolder(lockPath(stateDir, stack));
}

/**
 * The kernel and pid namespace this process runs in, hashed: a pid recorded by a process with the
 * same id can be checked from here with isProcessAlive. On Linux a hostname alone does not say
 * that (containers often share one); elsewhere processes of one host share its pid space.
 */
export function machineId(): string {
  let where = `${os.platform()}\n${os.hostname()}`;
  try {
    where += `\n${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}\n${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    // No /proc: not Linux, or one without it; the host's pid space is the only one.
  }
  return createHash("sha256").update(where).digest("hex").slice(0, 16);
}

/**
 * Takes the stack's lock or throws StackLockedError naming the holder. Callers release it in a
 * `finally`.
 */
export async function acquireLock(opts: AcquireLockOptions): Promise<LockHandle> {
  const file = lockPath(opts.stateDir, opts.stack);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const now = opts.now ?? Date.now;
  const holder: LockHolder = {
    pid: opts.pid ?? process.pid,
    host: opts.host ?? os.hostname(),
    runId: opts.runId,
    command: opts.command,
    startedAt: new Date(now()).toISOString(),
  };
  const isAlive = opts.isAlive ?? isProcessAlive;

  if (await tryCreate(file, holder)) return handle(file, holder, undefined);

  const current = await readHolder(file);
  if (current === undefined) {
    // Released between our attempt and our read, or an unreadable file (locks are linked into
    // place complete, so that is corruption, not a writer in progress).
    if (await tryCreate(file, holder)) return handle(file, holder, undefined);
    const again = await readHolder(file);
    if (again) throw new StackLockedError(opts.stack, again, file);
    return takeOver(file, holder, undefined, opts, now);
  }
  if (current.host !== holder.host) {
    throw new StackLockedError(opts.stack, current, file, { reason: "held from another host; it cannot be checked from here" });
  }
  if (isAlive(current.pid) && current.pid !== holder.pid) {
    throw new StackLockedError(opts.stack, current, file);
  }
  if (current.pid === holder.pid) {
    // Same process: a nested acquire is a bug in the caller, not a stale lock.
    throw new StackLockedError(opts.stack, current, file, { reason: "already held by this process" });
  }
  return takeOver(file, holder, current, opts, now);
}

async function takeOver(file: string, holder: LockHolder, stale: LockHolder | undefined, opts: AcquireLockOptions, now: () => number): Promise<LockHandle> {
  // Two processes may find the same stale lock. Only the one that creates the takeover marker
  // replaces it; the other is refused naming whoever holds the lock afterwards.
  const marker = `${file}.takeover`;
  if (!(await tryCreateMarker(marker, now))) {
    const current = (await readHolder(file)) ?? stale ?? holder;
    throw new StackLockedError(opts.stack, current, file, { reason: "another process is taking over a stale lock" });
  }
  try {
    const current = await readHolder(file);
    if (!sameHolder(current, stale)) {
      if (current === undefined) {
        if (await tryCreate(file, holder)) return handle(file, holder, stale);
      }
      throw new StackLockedError(opts.stack, current ?? holder, file);
    }
    await fsp.rm(file, { force: true });
    if (!(await tryCreate(file, holder))) {
      const winner = await readHolder(file);
      throw new StackLockedError(opts.stack, winner ?? holder, file);
    }
    if (stale) {
      opts.onWarning?.(
        `took over stale lock of stack "${opts.stack}": \`${stale.command}\` (pid ${stale.pid} on ${stale.host}, run ${stale.runId}, since ${stale.startedAt}) is no longer running; ` +
          `run \`sie-fleet recover --stack ${opts.stack}\` if that run left work unfinished`,
        stale,
      );
    }
    return handle(file, holder, stale);
  } finally {
    await fsp.rm(marker, { force: true });
  }
}

function handle(file: string, holder: LockHolder, tookOver: LockHolder | undefined): LockHandle {
  let released = false;
  return {
    path: file,
    holder,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      // Only delete our own lock: if it was broken and retaken, the file belongs to someone else.
      const current = await readHolder(file);
      if (current && current.runId === holder.runId && current.pid === holder.pid) await fsp.rm(file, { force: true });
    },
  };
}

/**
 * Creates the lock file atomically with complete content: the holder is written to a private
 * temp file (O_EXCL) and hard-linked into place, and link(2) fails with EEXIST like O_EXCL does.
 * A reader therefore never sees a half-written lock of a live process.
 */
async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${file}.${holder.pid}.${holder.runId}.tmp`;
  try {
    const fh = await fsp.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(holder)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.link(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  } catch (err) {
    throw new InternalError(`cannot create lock file ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

async function tryCreateMarker(marker: string, now: () => number): Promise<boolean> {
  try {
    const fh = await fsp.open(marker, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  // A marker left by a process killed mid-takeover would block every future takeover.
  try {
    const st = await fsp.stat(marker);
    if (now() - st.mtimeMs > TIMEOUTS.lockTakeoverStaleMs) {
      await fsp.rm(marker, { force: true });
      return tryCreateMarker(marker, () => 0);
    }
  } catch {
    /* vanished: someone finished their takeover */
  }
  return false;
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === "number" && typeof v.host === "string" && typeof v.runId === "string") {
      return { pid: v.pid, host: v.host, runId: v.runId, command: String(v.command ?? "?"), startedAt: String(v.startedAt ?? "?") };
    }
  } catch {
    /* partial write */
  }
  return undefined;
}

function sameHolder(a: LockHolder | undefined, b: LockHolder | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.pid === b.pid && a.host === b.host && a.runId === b.runId && a.startedAt === b.startedAt;
}
