#!/usr/bin/env node
// README's test command. Runs vitest (all arguments are passed on), then prints one closing line
// `N passed, N failed, N skipped` that CI and people can read at a glance.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureDeps, repo } from "./ensure-deps.mjs";

// One results file per run: concurrent runs in one checkout must not read each other's.
const out = path.join(repo, ".sie-fleet", `test-results-${process.pid}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.rmSync(out, { force: true });

const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs");
ensureDeps();
const run = spawnSync(
  process.execPath,
  [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { cwd: repo, stdio: "inherit" },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (fs.existsSync(out)) {
  const r = JSON.parse(fs.readFileSync(out, "utf8"));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
fs.rmSync(out, { force: true });
const code = run.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
