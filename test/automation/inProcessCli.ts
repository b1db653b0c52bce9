import { PassThrough } from "node:stream";
import { runCli } from "../../automation/cli/run.js";

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sie-fleet <args>` in-process with captured streams (fast; the same code path after argv). */
export async function runCliInProcess(args: string[], opts: { cwd: string; stdinIsTTY?: boolean; env?: NodeJS.ProcessEnv }): Promise<InProcessResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await runCli(["node", "sie-fleet", ...args], {
    stdout,
    stderr,
    stdinIsTTY: opts.stdinIsTTY ?? false,
    env: opts.env ?? {},
    cwd: opts.cwd,
    signal: new AbortController().signal,
  });
  return { code, stdout: out, stderr: err };
}
