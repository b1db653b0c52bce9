// Runs one of the scripts/ensure-* tool builders (ensure-pulumi, ensure-kube-tools): they print
// the build's root as the last line of stdout and their progress on stderr.
import { spawn } from "node:child_process";

export interface EnsureScriptResult {
  /** The exit code; 0 means `root` holds the build. */
  code: number | null;
  root: string;
  stderr: string;
}

export function runEnsureScript(
  script: string,
  args: readonly string[],
  opts: { onProgress?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<EnsureScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [...args], { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split("\n")) if (line.trim()) opts.onProgress?.(line.trim());
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, root: code === 0 ? (stdout.trim().split("\n").pop() ?? "") : "", stderr: stderr.trim() }));
  });
}
