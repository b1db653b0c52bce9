// Installs node_modules from the lockfile when they are missing, so README's commands work
// from a fresh clone. Shared by scripts/run-tests.mjs and scripts/demo.mjs.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

export function ensureDeps() {
  if (fs.existsSync(path.join(repo, "node_modules", "vitest", "vitest.mjs")) && fs.existsSync(path.join(repo, "node_modules", "tsx"))) return;
  console.log("[sie-fleet] installing dependencies from the lockfile (npm ci)");
  const ci = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: repo, stdio: "inherit" });
  if (ci.status !== 0) process.exit(ci.status ?? 1);
}
