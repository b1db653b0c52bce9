// `sie-fleet <args> --json` as its own process in a fixture's checkout (what a person or CI runs),
// with its NDJSON lines, exit code and last line's result or error.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";
import type { StackFixture } from "./stackFixture.js";

const CLI = path.join(REPO_ROOT, "bin", "sie-fleet.js");

export interface CliRun {
  code: number | null;
  /** Every NDJSON line, parsed. */
  lines: Record<string, any>[];
  /** stdout when not --json. */
  stdout: string;
  stderr: string;
  result: any;
  error: any;
  /** For assertion messages. */
  detail: string;
}

export function fleetCli(fx: StackFixture, args: string[], opts: { json?: boolean; env?: Record<string, string> } = {}): Promise<CliRun> {
  const json = opts.json !== false;
  const child = spawn(process.execPath, [CLI, ...args, ...(json ? ["--json"] : [])], {
    cwd: fx.dir,
    env: { ...fx.ctx.env, CI: "1", NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = json
        ? stdout.split("\n").flatMap((l) => {
            try {
              return [JSON.parse(l) as Record<string, any>];
            } catch {
              return [];
            }
          })
        : [];
      const last = lines.at(-1) ?? {};
      resolve({
        code,
        lines,
        stdout,
        stderr,
        result: last["result"],
        error: last["error"],
        detail: `exit ${code}\n${JSON.stringify(last).slice(0, 3000)}\nstderr: ${stderr.slice(-2000)}`,
      });
    });
  });
}
