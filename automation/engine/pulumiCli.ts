// Finds (or builds) the Pulumi CLI through scripts/ensure-pulumi, the only way the automation
// layer and the tests obtain it.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { StackError } from "../errors.js";
import { REPO_ROOT } from "./paths.js";

let cached: Promise<PulumiCommand> | undefined;

export interface EnsurePulumiOptions {
  /** Receives the script's progress lines (a first build takes minutes). */
  onProgress?: (line: string) => void;
}

function runEnsureScript(onProgress?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, "scripts", "ensure-pulumi"), [], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split("\n")) if (line.trim()) onProgress?.(line.trim());
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const root = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && root) resolve(root);
      else
        reject(
          new StackError("pulumi-cli-missing", `could not find or build the Pulumi CLI (scripts/ensure-pulumi exited ${code}):\n${stderr.trim()}`, {
            hint: "install Pulumi v3.259+ on PATH, or Go 1.25+ so scripts/ensure-pulumi can build it",
          }),
        );
    });
  });
}

export function ensurePulumi(opts: EnsurePulumiOptions = {}): Promise<PulumiCommand> {
  cached ??= runEnsureScript(opts.onProgress).then((root) => PulumiCommand.get({ root }));
  cached.catch(() => (cached = undefined));
  return cached;
}
