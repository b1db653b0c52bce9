// Shared by the reliability suites: the real `sie-fleet` CLI run as a child process against a
// stack of test/support/stackFixture.ts (scratch project, file backend, the real Pulumi CLI and
// Helm release in its own namespace of the lane's embedded cluster), plus byte snapshots of
// everything a command must leave alone.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";
import type { StackFixture } from "../support/stackFixture.js";

export {
  DEPLOY_TIMEOUT_MS,
  SCENARIO_TIMEOUT_MS,
  stackFixture,
  useStackFixture,
  waitReleaseReady,
  workloadImages,
  type StackFixture,
} from "../support/stackFixture.js";

export const CLI = path.join(REPO_ROOT, "bin", "sie-fleet.js");

/** Whether the wider matrices run (SIE_FLEET_RELIABILITY=full); CI runs the reduced ones. */
export const FULL_MATRIX = process.env.SIE_FLEET_RELIABILITY === "full";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment (merged over the fixture's). `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  /** Its own process group (for killing the CLI and its Pulumi children together). */
  detached?: boolean;
}

/** The fixture's environment as a user's shell would have it for the CLI, with `extra` applied. */
export function cliEnv(fx: StackFixture, extra: CliOptions["env"] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...fx.ctx.env, CI: "1", NO_COLOR: "1" };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts `sie-fleet <args>` in the fixture's project; the caller owns the child. */
export function spawnCli(fx: StackFixture, args: string[], opts: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? fx.dir,
    env: cliEnv(fx, opts.env),
    stdio: ["pipe", "pipe", "pipe"],
    ...(opts.detached ? { detached: true } : {}),
  });
}

/** Runs `sie-fleet <args>` to the end and collects its output. */
export function runCli(fx: StackFixture, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(fx, args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin?.end(opts.stdin ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The file backend's checkpoint of a stack (what `pulumi stack export` prints comes from it). */
export function checkpointFile(fx: StackFixture, stack = fx.stack): string {
  const root = path.join(fx.stateDir, "state", ".pulumi", "stacks");
  for (const project of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const file = path.join(root, project, `${stack}.json`);
    if (fs.existsSync(file)) return file;
  }
  return path.join(root, "sie-fleet", `${stack}.json`);
}

/**
 * Bytes a refused command must not change: the stack's checkpoint, its config file and its
 * `pulumi stack export`. Compare two of these with `expect(after).toEqual(before)`.
 */
export async function stackBytes(fx: StackFixture, stack = fx.stack): Promise<{ checkpoint: string; config: string; export: string }> {
  let exported = "<no stack>";
  try {
    const open = await fx.open();
    exported = JSON.stringify(await open.stack.exportStack());
  } catch (err) {
    exported = `<export failed: ${(err as Error).message.split("\n")[0]}>`;
  }
  return { ...stackFiles(fx, stack), export: exported };
}

/**
 * The checkpoint and config file bytes alone: what `pulumi stack export` is made from, without
 * the few seconds a CLI call costs, for suites that check after every one of many cases.
 */
export function stackFiles(fx: StackFixture, stack = fx.stack): { checkpoint: string; config: string } {
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f).toString("base64") : "<missing>");
  return {
    checkpoint: read(checkpointFile(fx, stack)),
    config: read(path.join(fx.dir, "stacks", `Pulumi.${stack}.yaml`)),
  };
}

/** The NDJSON lines of a `--json` run, parsed (non-JSON lines are dropped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial last line from a killed process
    }
  }
  return out;
}

/** Elapsed seconds since `t0`, for the per-scenario timings the suites print. */
export function secondsSince(t0: number): number {
  return Math.round((Date.now() - t0) / 1000);
}
