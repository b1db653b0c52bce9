// A throwaway copy of the sie-fleet project (Pulumi.yaml and stack files copied; infra/ and
// node_modules linked), so the demo and the tests can change stack config and state freely
// without touching the checkout.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";

export interface ScratchProjectOptions {
  /** Stack files to copy from <repo>/stacks (names like "local"); default: all. */
  stacks?: string[];
  /** Extra or replacement stack files: stack name → YAML text. */
  stackFiles?: Record<string, string>;
}

export function makeScratchProject(dir: string, opts: ScratchProjectOptions = {}): string {
  fs.mkdirSync(path.join(dir, "stacks"), { recursive: true });
  for (const f of ["Pulumi.yaml", "package.json"]) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
  for (const link of ["infra", "node_modules"]) {
    const target = path.join(dir, link);
    if (!fs.existsSync(target)) fs.symlinkSync(path.join(REPO_ROOT, link), target, "dir");
  }
  const srcStacks = path.join(REPO_ROOT, "stacks");
  const names =
    opts.stacks ??
    fs
      .readdirSync(srcStacks)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
  for (const name of names) {
    fs.copyFileSync(path.join(srcStacks, `Pulumi.${name}.yaml`), path.join(dir, "stacks", `Pulumi.${name}.yaml`));
  }
  for (const [name, text] of Object.entries(opts.stackFiles ?? {})) {
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
  }
  return dir;
}
