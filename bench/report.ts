// Shared output of the benchmarks: statistics, a plain-text table on stdout, JSON results with
// the machine they ran on.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100): a value that was measured, never an interpolation. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
export const min = (xs: number[]) => (xs.length ? Math.min(...xs) : NaN);
export const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
export const secs = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "n/a");
export const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [`\n${title}`, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(r.map(String)))].join("\n");
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  loadavg: number[];
  node: string;
  pulumi: string;
  prometheus?: string;
  /** The commit measured (the working tree may hold other helpers' uncommitted changes). */
  commit: string;
}

export function machine(pulumiBin?: string): Machine {
  const cpu = fs.readFileSync("/proc/cpuinfo", "utf8");
  const version = (bin: string, args: string[]) => {
    try {
      return (
        execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
          .trim()
          .split("\n")[0] ?? "?"
      );
    } catch {
      return "unavailable";
    }
  };
  return {
    nproc: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpu)?.[1] ?? "?",
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    pulumi: pulumiBin ? version(pulumiBin, ["version"]) : "?",
    prometheus: version(process.env["PROMETHEUS_BIN"] ?? "prometheus", ["--version"]),
    commit: version("git", ["-C", RESULTS_DIR, "rev-parse", "--short", "HEAD"]),
  };
}

/** Samples the 1-minute load average while a benchmark runs. */
export function loadSampler(everyMs = 5000): { stop(): { min: number; median: number; max: number } } {
  const xs = [os.loadavg()[0]!];
  const t = setInterval(() => xs.push(os.loadavg()[0]!), everyMs);
  return {
    stop() {
      clearInterval(t);
      const r = (n: number) => Math.round(n * 100) / 100;
      return { min: r(min(xs)), median: r(median(xs)), max: r(max(xs)) };
    },
  };
}

/** The `results` of bench/results/<name>.json as an earlier run left them (none without that file). */
export function previousResults<T>(name: string): T[] {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  if (!fs.existsSync(file)) return [];
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { results?: T[] }).results ?? [];
}

export function writeResult(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
