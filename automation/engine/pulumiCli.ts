// Finds (or builds) the Pulumi CLI through scripts/ensure-pulumi, the only way the automation
// layer and the tests obtain it.
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { checkEnsureScript, runEnsureScript, type EnsureToolOptions, type FoundTool } from "../../core/ensureTool.js";

let cached: Promise<PulumiCommand> | undefined;

export type EnsurePulumiOptions = EnsureToolOptions;

export function ensurePulumi(opts: EnsurePulumiOptions = {}): Promise<PulumiCommand> {
  cached ??= runEnsureScript(
    "ensure-pulumi",
    [],
    "the Pulumi CLI",
    "install Pulumi v3.259+ on PATH, or Go 1.25+ so scripts/ensure-pulumi can build it",
    opts,
  ).then((root) => PulumiCommand.get({ root }));
  cached.catch(() => (cached = undefined));
  return cached;
}

/** A Pulumi CLI that ensurePulumi would use without building: a new enough one on PATH, or our cached build. */
export function findPulumi(): FoundTool {
  return checkEnsureScript("ensure-pulumi", [], "the Pulumi CLI");
}
