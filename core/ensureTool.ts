// Runs one of the scripts/ensure-* scripts, which find or build a tool from Go modules and print
// its root directory last on stdout, streaming their progress (a first build takes minutes).
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { StackError } from "./errors.js";
import { REPO_ROOT } from "./paths.js";

/** Where the scripts cache their builds; unset, their default: <checkout>/.sie-fleet/tools. */
export const TOOLS_DIR_ENV = "SIE_FLEET_TOOLS_DIR";

/** The tools directory the scripts use with `env` (the default mirrors theirs). */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[TOOLS_DIR_ENV] || path.join(REPO_ROOT, ".sie-fleet", "tools");
}

/** A build that is there, or why not (the script's own last line: what to run, and how long it takes). */
export type FoundTool = { ok: true; root: string } | { ok: false; reason: string };

/**
 * Runs a scripts/ensure-* script with `--check`: it only looks, printing the root when the build for
 * the current sources is cached (or, for Pulumi, a new enough CLI is on PATH) and exiting 3 otherwise.
 */
export function checkEnsureScript(script: string, args: readonly string[], what: string): FoundTool {
  const r = spawnSync(path.join(REPO_ROOT, "scripts", script), [...args, "--check"], { encoding: "utf8" });
  if (r.error) return { ok: false, reason: `scripts/${script} could not run: ${r.error.message}` };
  if (r.status !== 0) {
    const why = (r.stderr || "")
      .trim()
      .split("\n")
      .pop()
      ?.replace(/^\[[\w-]+\] /, "");
    return { ok: false, reason: why || `${what} is not built (scripts/${script} ${[...args, "--check"].join(" ")} exited ${r.status})` };
  }
  return { ok: true, root: r.stdout.trim().split("\n").pop() ?? "" };
}

export interface EnsureToolOptions {
  /** Receives the script's progress lines. */
  onProgress?: (line: string) => void;
}

export function runEnsureScript(script: string, args: readonly string[], what: string, hint: string, opts: EnsureToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, "scripts", script), [...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split("\n")) if (line.trim()) opts.onProgress?.(line.trim());
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const root = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && root) resolve(root);
      else
        reject(
          new StackError("tool-missing", `could not find or build ${what} (scripts/${script} ${args.join(" ")} exited ${code}):\n${stderr.trim()}`, { hint }),
        );
    });
  });
}
