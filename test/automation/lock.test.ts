import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StackLockedError } from "../../core/errors.js";
import { acquireLock, lockPath, readLock } from "../../automation/locks/fileLock.js";

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "sie-lock-"));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const base = () => ({ stateDir: dir, stack: "dev", command: "upgrade --to v0.3.2" });

/** A pid that is certainly dead: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  const pid = child.pid!;
  await new Promise((r) => child.on("exit", r));
  return pid;
}

describe("acquireLock", () => {
  it("writes the holder and removes the file on release", async () => {
    const lock = await acquireLock({ ...base(), runId: "r1" });
    expect(await readLock(dir, "dev")).toMatchObject({ pid: process.pid, host: os.hostname(), runId: "r1", command: "upgrade --to v0.3.2" });
    await lock.release();
    await lock.release();
    expect(await readLock(dir, "dev")).toBeUndefined();
  });

  it("refuses a second acquire naming the holder, with exit code 3 and a hint", async () => {
    const holderPid = process.ppid; // alive, and not us
    const first = await acquireLock({ ...base(), runId: "r1", pid: holderPid });
    const err = await acquireLock({ ...base(), runId: "r2" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackLockedError);
    const e = err as StackLockedError;
    expect(e.exitCode).toBe(3);
    expect(e.code).toBe("stack-locked");
    expect(e.message).toContain(`\`upgrade --to v0.3.2\` (pid ${holderPid} on ${os.hostname()}, run r1, since `);
    expect(e.hint).toContain("sie-fleet status --stack dev");
    expect(e.holder.runId).toBe("r1");
    // The refused attempt did not disturb the holder.
    expect((await readLock(dir, "dev"))?.runId).toBe("r1");
    await first.release();
  });

  it("takes over a stale lock (dead pid, same host) with a warning", async () => {
    const pid = await deadPid();
    await acquireLock({ ...base(), runId: "old", pid });
    const warnings: string[] = [];
    const lock = await acquireLock({ ...base(), runId: "new", onWarning: (m) => warnings.push(m) });
    expect(lock.tookOver?.runId).toBe("old");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/took over stale lock .*pid \d+ .*run old.*recover --stack dev/);
    expect((await readLock(dir, "dev"))?.runId).toBe("new");
    await lock.release();
  });

  it("never takes over a lock held from another host", async () => {
    await acquireLock({ ...base(), runId: "remote", host: "other-host", pid: 1 });
    await expect(acquireLock({ ...base(), runId: "r2" })).rejects.toThrow(/other-host.*another host/);
  });

  it("release does not delete a lock that was taken over by someone else", async () => {
    const mine = await acquireLock({ ...base(), runId: "mine", isAlive: () => false, pid: 999_999 });
    // Someone judged us dead and took over.
    const theirs = await acquireLock({ ...base(), runId: "theirs", isAlive: () => false });
    await mine.release();
    expect((await readLock(dir, "dev"))?.runId).toBe("theirs");
    await theirs.release();
  });

  it("lets exactly one of many concurrent acquirers win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => acquireLock({ ...base(), runId: `r${i}`, pid: 100_000 + i, isAlive: () => true })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof StackLockedError)).toBe(true);
  });

  it("lets exactly one of several concurrent takeovers of a stale lock win", async () => {
    await acquireLock({ ...base(), runId: "dead", pid: await deadPid() });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => acquireLock({ ...base(), runId: `t${i}`, pid: 200_000 + i, isAlive: (p) => p >= 200_000 })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const winner = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ holder: { runId: string } }>).value.holder.runId;
    expect((await readLock(dir, "dev"))?.runId).toBe(winner);
  });

  it("works across processes: a second CLI process is refused while the first holds the lock", async () => {
    const script = `
      import { acquireLock } from ${JSON.stringify(path.resolve("automation/locks/fileLock.ts"))};
      try {
        await acquireLock({ stateDir: ${JSON.stringify(dir)}, stack: "dev", runId: "child", command: "upgrade" });
        console.log("acquired");
      } catch (e) { console.log(e.code); }
    `;
    const held = await acquireLock({ ...base(), runId: "parent" });
    const out = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: path.resolve(".") });
      let s = "";
      c.stdout.on("data", (d) => (s += d));
      c.on("exit", () => resolve(s.trim()));
    });
    expect(out).toBe("stack-locked");
    await held.release();
    expect(lockPath(dir, "dev")).toBe(path.join(dir, "locks", "dev.json"));
  });
});
