// Pulumi's own stack locks on the file backend (.pulumi/locks/…/<stack>/<uuid>.json). A live
// one means another Pulumi operation runs on the stack; a dead one was left by a killed CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import { isProcessAlive } from "../lock.js";
import type { OpenStack } from "./stack.js";

export interface PulumiLock {
  file: string;
  pid?: number;
  alive: boolean;
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
