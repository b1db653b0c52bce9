/**
 * `sim start|stop|status`: the local SIE simulator as a background process. The simulator writes
 * `<dir>/endpoints.json` (its pid and URLs) once it listens and removes it when it stops; that
 * file is the only contract used here, so this command does not import sim/.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../../clock.js";
import { EXIT_CODES, SieFleetError } from "../../errors.js";
import { isProcessAlive } from "../../lock.js";
import type { CommandContext } from "../context.js";

/** sim/simulator.ts ENDPOINTS_FILE. */
const ENDPOINTS_FILE = "endpoints.json";
const LOG_FILE = "sim.log";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

interface Endpoints {
  pid: number;
  api: string;
  gateway: string;
  config: string;
  metrics: string;
  kubeconfig?: string;
  startedAt?: string;
}

export interface SimFlags {
  dir?: string;
  profile?: "fast" | "demo";
  apiPort?: number;
  /** Mirror mode: serve the SIE endpoints for the release in `namespace` of this cluster. */
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

function simDir(flags: SimFlags, ctx: CommandContext): string {
  return path.resolve(ctx.io.cwd, flags.dir ?? (ctx.io.env["SIE_FLEET_SIM_DIR"] || path.join(ctx.globals.stateDir, "sim")));
}

/**
 * The endpoints as a result: `kubeconfig` there is a file path, renamed so the redaction rule for
 * keys named "kubeconfig" (whose values are content) does not hide it.
 */
function describe(ep: Endpoints): Omit<Endpoints, "kubeconfig"> & { kubeconfigPath?: string } {
  const { kubeconfig, ...rest } = ep;
  return { ...rest, ...(kubeconfig ? { kubeconfigPath: kubeconfig } : {}) };
}

async function readEndpoints(dir: string): Promise<Endpoints | undefined> {
  try {
    const e = JSON.parse(await fsp.readFile(path.join(dir, ENDPOINTS_FILE), "utf8")) as Endpoints;
    return typeof e.pid === "number" ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Alive and really the simulator: a stale endpoints.json may name a pid the OS has since given to
 * another program, which we must never signal.
 */
async function isSimulator(pid: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return false;
  try {
    const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, "utf8");
    return /sim[/\\]main\.(ts|js)/.test(cmdline);
  } catch {
    // No /proc (macOS): trust the pid.
    return true;
  }
}

export async function start(flags: SimFlags, ctx: CommandContext): Promise<number> {
  const dir = simDir(flags, ctx);
  const running = await readEndpoints(dir);
  if (running && (await isSimulator(running.pid))) {
    ctx.out.result("sim start", { running: true, alreadyRunning: true, dir, ...describe(running) }, [`simulator already running (pid ${running.pid}): api ${running.api}, gateway ${running.gateway}`]);
    return EXIT_CODES.ok;
  }
  const main = path.join(repoRoot, "sim", "main.ts");
  if (!existsSync(main)) {
    throw new SieFleetError("sim-missing", EXIT_CODES.internal, `the simulator is not part of this installation (no ${main})`, {
      hint: "use a platform other than local, or install sie-fleet from a full checkout",
    });
  }
  await fsp.mkdir(dir, { recursive: true });
  await fsp.rm(path.join(dir, ENDPOINTS_FILE), { force: true });
  const logPath = path.join(dir, LOG_FILE);
  const log = openSync(logPath, "a");
  const mirror = flags.kubeconfig
    ? ["--kubeconfig", path.resolve(ctx.io.cwd, flags.kubeconfig), "--namespace", flags.namespace ?? "sie", ...(flags.context ? ["--context", flags.context] : [])]
    : [];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", main, "--state-dir", dir, "--profile", flags.profile ?? "demo", "--api-port", String(flags.apiPort ?? 0), ...mirror],
    // Detached with its own log: it must outlive this command.
    { cwd: repoRoot, detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  child.unref();

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ep = await readEndpoints(dir);
    if (ep && ep.pid === child.pid) {
      ctx.out.result("sim start", { running: true, alreadyRunning: false, mirror: mirror.length > 0, dir, log: logPath, ...describe(ep) }, [
        mirror.length > 0 ? `simulator started (pid ${ep.pid}), mirroring namespace ${flags.namespace ?? "sie"} of ${ep.api}` : `simulator started (pid ${ep.pid})`,
        `  api        ${ep.api}`,
        `  gateway    ${ep.gateway}`,
        `  config     ${ep.config}`,
        `  metrics    ${ep.metrics}`,
        ...(ep.kubeconfig ? [`  kubeconfig ${ep.kubeconfig}`] : []),
        `  log        ${logPath}`,
        `stop it with: sie-fleet sim stop`,
      ]);
      return EXIT_CODES.ok;
    }
    if (exited !== null || Date.now() > deadline) {
      if (exited === null && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
      const tail = (await fsp.readFile(logPath, "utf8").catch(() => "")).trim().split("\n").slice(-5).join("\n  ");
      throw new SieFleetError(
        "sim-start-failed",
        EXIT_CODES.internal,
        `the simulator ${exited !== null ? `exited with code ${exited}` : `did not start within ${START_TIMEOUT_MS / 1000}s`}; last log lines:\n  ${tail}`,
        { hint: `see ${logPath}` },
      );
    }
    await systemClock.sleep(100);
  }
}

export async function stop(flags: SimFlags, ctx: CommandContext): Promise<number> {
  const dir = simDir(flags, ctx);
  const ep = await readEndpoints(dir);
  if (!ep || !(await isSimulator(ep.pid))) {
    if (ep) await fsp.rm(path.join(dir, ENDPOINTS_FILE), { force: true });
    ctx.out.result("sim stop", { running: false, stopped: false, dir }, ["simulator is not running"]);
    return EXIT_CODES.ok;
  }
  process.kill(ep.pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isProcessAlive(ep.pid) && Date.now() < deadline) await systemClock.sleep(100);
  if (isProcessAlive(ep.pid)) process.kill(ep.pid, "SIGKILL");
  await fsp.rm(path.join(dir, ENDPOINTS_FILE), { force: true });
  ctx.out.result("sim stop", { running: false, stopped: true, pid: ep.pid, dir }, [`simulator stopped (pid ${ep.pid})`]);
  return EXIT_CODES.ok;
}

export async function status(flags: SimFlags, ctx: CommandContext): Promise<number> {
  const dir = simDir(flags, ctx);
  const ep = await readEndpoints(dir);
  if (!ep || !(await isSimulator(ep.pid))) {
    ctx.out.result("sim status", { running: false, dir }, [`simulator is not running (dir ${dir}); start it with: sie-fleet sim start`]);
    return EXIT_CODES.ok;
  }
  let reachable = false;
  try {
    const res = await fetch(new URL("/version", ep.api), { signal: AbortSignal.timeout(2_000) });
    reachable = res.ok;
  } catch {
    reachable = false;
  }
  ctx.out.result("sim status", { running: true, reachable, dir, ...describe(ep) }, [
    `simulator running (pid ${ep.pid}${ep.startedAt ? `, since ${ep.startedAt}` : ""})${reachable ? "" : " but its API does not answer"}`,
    `  api ${ep.api}  gateway ${ep.gateway}  config ${ep.config}`,
    ...(ep.kubeconfig ? [`  kubeconfig ${ep.kubeconfig}`] : []),
  ]);
  return EXIT_CODES.ok;
}
