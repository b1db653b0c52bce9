import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ENDPOINTS_FILE, type SimulatorEndpoints } from "./simulator.js";
import type { ProfileName, SimTimings } from "./timing.js";
import type { MirrorOptions } from "./mirror.js";

export interface SpawnOptions {
  stateDir: string;
  profile?: ProfileName;
  timings?: Partial<SimTimings>;
  apiPort?: number;
  gatewayPort?: number;
  configPort?: number;
  sieNamespace?: string;
  /** Mirror a real cluster's release instead of simulating one (see sim/mirror.ts). */
  mirror?: Pick<MirrorOptions, "kubeconfigPath" | "context" | "namespace">;
  /** How long to wait for endpoints.json (default 20 s). */
  startTimeoutMs?: number;
  /** Receives the child's stderr (default: kept for error messages only). Not used when detached. */
  onStderr?: (chunk: string) => void;
  /**
   * Keep the simulator running after this process exits (a daemon, e.g. `sie-fleet sim start`);
   * its output goes to DIR/sim.log and `stopSimulator(DIR)` ends it. By default the child is tied
   * to this process: it shuts down when this process exits or dies (IPC channel closes).
   */
  detached?: boolean;
}

export interface SpawnedSimulator extends SimulatorEndpoints {
  stateDir: string;
  kubeconfigPath: string;
  child: ChildProcess;
  /** SIGTERM, wait for exit (SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Children must not outlive a test run or CLI that crashed before calling stop().
  process.on("exit", () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/** Starts `sim/main.ts` as a child process and resolves once it has written endpoints.json. */
export async function spawnSimulator(opts: SpawnOptions): Promise<SpawnedSimulator> {
  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const endpointsPath = join(stateDir, ENDPOINTS_FILE);
  rmSync(endpointsPath, { force: true });

  const fromSource = existsSync(join(here, "main.ts"));
  const main = join(here, fromSource ? "main.ts" : "main.js");
  const args = [
    ...(fromSource ? ["--import", "tsx"] : []),
    main,
    "--state-dir",
    stateDir,
    "--profile",
    opts.profile ?? "fast",
    "--api-port",
    String(opts.apiPort ?? 0),
    "--gateway-port",
    String(opts.gatewayPort ?? 0),
    "--config-port",
    String(opts.configPort ?? 0),
    ...(opts.timings ? ["--timings", JSON.stringify(opts.timings)] : []),
    ...(opts.sieNamespace ? ["--namespace", opts.sieNamespace] : []),
    ...(opts.mirror ? ["--kubeconfig", resolve(opts.mirror.kubeconfigPath), "--namespace", opts.mirror.namespace] : []),
    ...(opts.mirror?.context ? ["--context", opts.mirror.context] : []),
  ];
  // cwd = repo root so `--import tsx` resolves from this project's node_modules.
  const cwd = resolve(here, "..");
  let child: ChildProcess;
  let stderr = "";
  const logPath = join(stateDir, "sim.log");
  if (opts.detached) {
    const log = openSync(logPath, "a");
    child = spawn(process.execPath, args, { cwd, stdio: ["ignore", log, log], detached: true });
    closeSync(log);
    child.unref();
  } else {
    child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    installExitHook();
    live.add(child);
    child.once("exit", () => live.delete(child));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-8000);
      opts.onStderr?.(d);
    });
    child.stdout?.resume();
  }
  const tail = () => (opts.detached && existsSync(logPath) ? readFileSync(logPath, "utf8").slice(-8000) : stderr).trim();

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (!(await waitExit(child, 5000))) {
      child.kill("SIGKILL");
      await waitExit(child, 2000);
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`simulator exited before it was ready (code ${child.exitCode ?? child.signalCode}): ${tail()}`);
    }
    if (existsSync(endpointsPath)) {
      try {
        const ep = JSON.parse(readFileSync(endpointsPath, "utf8")) as SimulatorEndpoints;
        if (ep.pid === child.pid) {
          return { ...ep, stateDir, kubeconfigPath: ep.kubeconfig ?? join(stateDir, "kubeconfig"), child, stop };
        }
      } catch {
        // half-visible file cannot happen (atomic rename), but a stale one from a crash can; keep polling
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`simulator did not write ${endpointsPath} within ${opts.startTimeoutMs ?? 20_000} ms: ${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads DIR/endpoints.json if a simulator is running there (its pid is alive). */
export function runningSimulator(stateDir: string): SimulatorEndpoints | undefined {
  const p = join(resolve(stateDir), ENDPOINTS_FILE);
  if (!existsSync(p)) return undefined;
  try {
    const ep = JSON.parse(readFileSync(p, "utf8")) as SimulatorEndpoints;
    process.kill(ep.pid, 0);
    return ep;
  } catch {
    return undefined; // unreadable, or the process is gone (stale file after a crash)
  }
}

/** Stops the simulator serving DIR (SIGTERM, then SIGKILL after `timeoutMs`). False if none ran. */
export async function stopSimulator(stateDir: string, timeoutMs = 5000): Promise<boolean> {
  const ep = runningSimulator(stateDir);
  if (!ep) return false;
  const alive = () => {
    try {
      process.kill(ep.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(ep.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    process.kill(ep.pid, "SIGKILL");
    rmSync(join(resolve(stateDir), ENDPOINTS_FILE), { force: true });
  }
  return true;
}
