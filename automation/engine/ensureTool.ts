// Runs one of the scripts/ensure-* scripts, which find or build a tool from Go modules and print
// its root directory last on stdout, streaming their progress (a first build takes minutes).
import { spawn } from "node:child_process";
import * as path from "node:path";
import { StackError } from "../errors.js";
import { REPO_ROOT } from "./paths.js";

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
