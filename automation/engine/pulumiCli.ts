// Finds (or builds) the Pulumi CLI through scripts/ensure-pulumi, the only way the automation
// layer and the tests obtain it.
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { StackError } from "../errors.js";
import { runEnsureScript } from "./ensureScript.js";
import { REPO_ROOT } from "./paths.js";

let cached: Promise<PulumiCommand> | undefined;

export interface EnsurePulumiOptions {
  /** Receives the script's progress lines (a first build takes minutes). */
  onProgress?: (line: string) => void;
}

async function ensureScriptRoot(onProgress?: (line: string) => void): Promise<string> {
  const r = await runEnsureScript(path.join(REPO_ROOT, "scripts", "ensure-pulumi"), [], onProgress ? { onProgress } : {});
  if (r.code === 0 && r.root) return r.root;
  throw new StackError("pulumi-cli-missing", `could not find or build the Pulumi CLI (scripts/ensure-pulumi exited ${r.code}):\n${r.stderr}`, {
    hint: "install Pulumi v3.259+ on PATH, or Go 1.25+ so scripts/ensure-pulumi can build it",
  });
}

export function ensurePulumi(opts: EnsurePulumiOptions = {}): Promise<PulumiCommand> {
  cached ??= ensureScriptRoot(opts.onProgress).then((root) => PulumiCommand.get({ root }));
  cached.catch(() => (cached = undefined));
  return cached;
}
