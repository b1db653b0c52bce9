// Pulumi's own stack locks on the file backend (.pulumi/locks/…/<stack>/<uuid>.json). A live
// one means another Pulumi operation runs on the stack; a dead one was left by a killed CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import { isProcessAlive } from "../../core/processes.js";
import type { OpenStack } from "../engine/stack.js";

export interface PulumiLock {
  file: string;
  pid?: number;
  alive: boolean;
}

/**
 * Deletes a dead holder's lock. The file backend (gocloud fileblob) keeps each blob's metadata
 * in a `<file>.attrs` sidecar; leaving it behind would look like a lock to anyone listing the dir.
 */
export function removePulumiLock(lock: PulumiLock): void {
  fs.rmSync(lock.file, { force: true });
  fs.rmSync(`${lock.file}.attrs`, { force: true });
}

export function pulumiLocks(s: OpenStack): PulumiLock[] {
  if (!s.backendUrl.startsWith("file://")) return [];
  const dir = path.join(s.backendUrl.slice("file://".length).split("?")[0]!, ".pulumi", "locks");
  if (!fs.existsSync(dir)) return [];
  const out: PulumiLock[] = [];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (path.basename(path.dirname(p)) === s.name && f.name.endsWith(".json")) {
        let pid: number | undefined;
        try {
          pid = (JSON.parse(fs.readFileSync(p, "utf8")) as { pid?: number }).pid;
        } catch {
          /* a lock being written; treat as alive */
        }
        out.push({ file: p, ...(pid !== undefined ? { pid } : {}), alive: pid === undefined || isProcessAlive(pid) });
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Waits until no live process holds a Pulumi lock on the stack. A `pulumi up` whose sie-fleet
 * parent was SIGKILLed lives on as an orphan and finishes (or dies on its closed stdout) by
 * itself; touching the stack before it is gone would race it. Returns the holders still alive
 * at the deadline (empty when the stack is free).
 */
export async function waitForLivePulumiLocks(
  s: OpenStack,
  opts: { timeoutMs: number; pollMs?: number; onWait?: (live: PulumiLock[]) => void },
): Promise<PulumiLock[]> {
  const deadline = Date.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    const live = pulumiLocks(s).filter((l) => l.alive);
    if (live.length === 0 || Date.now() >= deadline) return live;
    if (!told) opts.onWait?.(live);
    told = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
