import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The sie-fleet checkout this code runs from: it holds Pulumi.yaml, infra/ and node_modules. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where sie-fleet keeps its state for a project directory (file backend, journals, embedded cluster). */
export function stateDirFor(projectDir: string): string {
  return path.join(projectDir, ".sie-fleet");
}
