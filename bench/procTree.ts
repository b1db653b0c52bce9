// Peak memory of a process and of its descendants, sampled from /proc (Linux only). VmHWM is the
// kernel's own high-water mark per process, so the root's figure is exact even between samples;
// the tree's figure is the largest sum of VmRSS seen at one sample (children come and go, so a
// sum of their high-water marks would overstate what was resident at once).
import * as fs from "node:fs";

export interface TreeMemory {
  /** Root process VmHWM, KiB. */
  rootPeakKiB: number;
  /** Largest simultaneous VmRSS of root + descendants, KiB. */
  treePeakKiB: number;
  /** Largest VmHWM seen per command name among descendants, KiB. */
  childPeaksKiB: Record<string, number>;
  samples: number;
}

function status(pid: number): { ppid: number; rss: number; hwm: number; name: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
    const name = label(pid, /^Name:\s+(.*)$/m.exec(text)?.[1] ?? "?");
    return { ppid: field("PPid"), rss: field("VmRSS"), hwm: field("VmHWM"), name };
  } catch {
    return undefined; // exited between readdir and read
  }
}

/** Node processes all show as "node": tell the Pulumi program and the dynamic provider apart. */
function label(pid: number, name: string): string {
  if (name !== "node") return name;
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmd.includes("dynamic-provider")) return "node (Pulumi dynamic provider)";
    if (cmd.includes("cmd/run")) return "node (Pulumi program)";
    if (cmd.includes("keepWorkerReplicas")) return "node (Helm post-renderer)";
  } catch {
    // exited
  }
  return name;
}

function descendants(root: number, table: Map<number, { ppid: number }>): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [pid, s] of table)
      if (s.ppid === p) {
        out.push(pid);
        queue.push(pid);
      }
  }
  return out;
}

export function watchTree(root: number, intervalMs = 100): { stop(): TreeMemory } {
  const mem: TreeMemory = { rootPeakKiB: 0, treePeakKiB: 0, childPeaksKiB: {}, samples: 0 };
  const sample = () => {
    const table = new Map<number, ReturnType<typeof status> & object>();
    for (const d of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      const s = status(Number(d));
      if (s) table.set(Number(d), s);
    }
    const r = table.get(root);
    if (!r) return;
    mem.samples++;
    mem.rootPeakKiB = Math.max(mem.rootPeakKiB, r.hwm);
    let sum = r.rss;
    for (const pid of descendants(root, table)) {
      const s = table.get(pid)!;
      sum += s.rss;
      mem.childPeaksKiB[s.name] = Math.max(mem.childPeaksKiB[s.name] ?? 0, s.hwm);
    }
    mem.treePeakKiB = Math.max(mem.treePeakKiB, sum);
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    stop() {
      clearInterval(timer);
      return mem;
    },
  };
}
