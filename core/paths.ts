import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The sie-fleet checkout this code runs from: it holds Pulumi.yaml, infra/ and node_modules. The
 * nearest directory above with a package.json, so the compiled copy under dist/ (which has none)
 * finds the same checkout as the sources do.
 */
export const REPO_ROOT = checkoutOf(path.dirname(fileURLToPath(import.meta.url)));

function checkoutOf(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) return path.resolve(dir, "..");
  }
}

/** Where sie-fleet keeps its state for a project directory (file backend, journals, embedded cluster). */
export function stateDirFor(projectDir: string): string {
  return path.join(projectDir, ".sie-fleet");
}
