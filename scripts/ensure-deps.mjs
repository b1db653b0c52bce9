// Installs node_modules from the lockfile when they are missing and compiles the sources when
// the build is not current, so README's commands work from a fresh clone and run the compiled
// code. Shared by scripts/run-tests.mjs and scripts/demo.mjs.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

export async function ensureDeps() {
  if (!(fs.existsSync(path.join(repo, "node_modules", "vitest", "vitest.mjs")) && fs.existsSync(path.join(repo, "node_modules", "esbuild")))) {
    console.log("[sie-fleet] installing dependencies from the lockfile (npm ci)");
    const ci = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: repo, stdio: "inherit" });
    if (ci.status !== 0) process.exit(ci.status ?? 1);
  }
  // Imported only now: they need node_modules.
  const { compiledIsCurrent } = await import("../bin/compiled.mjs");
  if (compiledIsCurrent()) return;
  const { build } = await import("./build.mjs");
  await build();
}
