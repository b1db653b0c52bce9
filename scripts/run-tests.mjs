#!/usr/bin/env node
// README's test command. Runs every test lane in turn and prints one closing line
// `N passed, N failed, N skipped` (the sum) that CI and people can read at a glance.
//
//   node scripts/run-tests.mjs                   all lanes: default, reliability, cluster
//   node scripts/run-tests.mjs --lane default    one lane (repeatable); other arguments go to vitest
//   node scripts/run-tests.mjs test/engine       a filter: the default and reliability lanes only
//
// Lanes: default (unit, simulator, real Pulumi engine; vitest.config.ts), reliability (crash and
// fault matrices, bad input, secrets; vitest.reliability.config.ts) and cluster (a real
// Kubernetes control plane built from Go modules; scripts/test-cluster, which builds it first).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureDeps, repo } from "./ensure-deps.mjs";

const LANES = ["default", "reliability", "cluster"];

function parseArgs(argv) {
  const lanes = [];
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === "--lane" ? argv[++i] : a.startsWith("--lane=") ? a.slice(7) : undefined;
    if (v === undefined) {
      rest.push(a);
      continue;
    }
    if (!LANES.includes(v)) {
      console.error(`--lane ${v}: unknown lane; use one of ${LANES.join(", ")}`);
      process.exit(2);
    }
    lanes.push(v);
  }
  // A filter (`npm test -- test/engine`) applies to the vitest lanes; the cluster lane, which may
  // have to build a control plane first, runs only when asked for by name.
  if (lanes.length === 0) lanes.push(...(rest.length ? ["default", "reliability"] : LANES));
  return { lanes, rest };
}

/** Runs a command with inherited stdio and resolves its exit code. */
function run(cmd, args, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repo, stdio: "inherit", env });
    const forward = (sig) => child.kill(sig);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", forward).off("SIGTERM", forward);
      resolve(code ?? (signal === "SIGINT" ? 130 : 1));
    });
  });
}

function readReport(file, code) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  if (fs.existsSync(file)) {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    counts.passed = r.numPassedTests ?? 0;
    // Failed files count only when no test in them failed (an import error, a failing hook).
    counts.failed = r.numFailedTests || r.numFailedTestSuites || 0;
    counts.skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

// One results file per lane and run: concurrent runs in one checkout must not read each other's.
function reportFile(lane) {
  const file = path.join(repo, ".sie-fleet", `test-results-${lane}-${process.pid}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  return file;
}

async function runLane(lane, extra) {
  const file = reportFile(lane);
  const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs");
  const reporters = ["--reporter=default", "--reporter=json", `--outputFile.json=${file}`];
  let code;
  if (lane === "cluster") {
    code = await run(path.join(repo, "scripts", "test-cluster"), extra, { ...process.env, SIE_FLEET_CLUSTER_REPORT: file });
  } else {
    const config = lane === "default" ? "vitest.config.ts" : `vitest.${lane}.config.ts`;
    code = await run(process.execPath, [vitest, "run", "--config", config, ...reporters, ...extra]);
  }
  const counts = readReport(file, code);
  fs.rmSync(file, { force: true });
  return { lane, code, ...counts };
}

const { lanes, rest } = parseArgs(process.argv.slice(2));
ensureDeps();
const results = [];
for (const lane of lanes) {
  console.log(`\n== lane ${lane}`);
  const filtered = rest.length > 0 && lane !== "cluster" ? [...rest, "--passWithNoTests"] : rest;
  results.push(await runLane(lane, filtered));
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const r of results) {
  for (const k of Object.keys(total)) total[k] += r[k];
  if (results.length > 1) console.log(`lane ${r.lane}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
