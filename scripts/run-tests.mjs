#!/usr/bin/env node
// README's test command. Builds what the tests need, runs every test lane in turn and prints one
// closing line `N passed, N failed, N skipped` (the sum) that CI and people can read at a glance.
//
//   node scripts/run-tests.mjs                   all lanes: unit, default, reliability, cluster
//   node scripts/run-tests.mjs --lane unit       one lane (repeatable); other arguments go to vitest
//   node scripts/run-tests.mjs test/engine       a filter: the unit, default and reliability lanes only
//
// Lanes:
//   unit         pure code and the Pulumi program under mocks: no CLI, no cluster (vitest.unit.config.ts)
//   default      the real Pulumi engine and the real Helm release on the embedded cluster (vitest.config.ts)
//   reliability  crash and fault matrices, bad input, secrets (vitest.reliability.config.ts)
//                (default and reliability together: one run of vitest.shared.config.ts)
//   cluster      the embedded control plane's own tests, each with control planes of its own
//                (vitest.cluster.config.ts)
// When every lane runs (no --lane, no filter) or with `--lane static`, the type checker
// (`tsc --noEmit`), Biome's formatter and linter (`biome ci .`) and the import-layer check
// (dependency-cruiser, .dependency-cruiser.cjs) run first, each counted as one test of the
// `static` lane.
// Before the lanes that need them, the tools are built from Go modules (or found in
// SIE_FLEET_TOOLS_DIR) and one embedded cluster (without KEDA) is started for the default and
// reliability lanes to share (SIE_FLEET_TEST_CLUSTER_DIR); it is stopped after them. KEDA,
// Karpenter and kubectl are built only when the cluster lane runs (its autoscaler tests need them).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureDeps, repo } from "./ensure-deps.mjs";

const LANES = ["unit", "default", "reliability", "cluster"];
const CONFIGS = {
  unit: "vitest.unit.config.ts",
  default: "vitest.config.ts",
  reliability: "vitest.reliability.config.ts",
  cluster: "vitest.cluster.config.ts",
};

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
    if (!LANES.includes(v) && v !== "static") {
      console.error(`--lane ${v}: unknown lane; use one of static, ${LANES.join(", ")}`);
      process.exit(2);
    }
    lanes.push(v);
  }
  // A filter (`npm test -- test/engine`) applies to the shared-cluster lanes; the cluster lane,
  // which starts control planes of its own, runs only when asked for by name.
  const all = lanes.length === 0 && rest.length === 0;
  const staticChecks = all || lanes.includes("static");
  const named = lanes.filter((l) => l !== "static");
  if (lanes.length === 0) named.push(...(rest.length ? ["unit", "default", "reliability"] : LANES));
  return { lanes: named, rest, staticChecks };
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

const timed = async (what, fn) => {
  const t0 = Date.now();
  const r = await fn();
  console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  return r;
};

/** Which lane a test file belongs to, for a run of several lanes at once. */
const laneOfFile = (file) => (path.relative(repo, file).split(path.sep).join("/").startsWith("test/reliability/") ? "reliability" : "default");

/** Each lane's counts from a vitest JSON report of a run of `lanes` (one, or default and reliability together). */
function readReport(file, code, lanes) {
  const counts = Object.fromEntries(lanes.map((l) => [l, { passed: 0, failed: 0, skipped: 0 }]));
  if (fs.existsSync(file)) {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const f of r.testResults ?? []) {
      const c = counts[lanes.length === 1 ? lanes[0] : laneOfFile(f.name)];
      const statuses = (f.assertionResults ?? []).map((a) => a.status);
      c.passed += statuses.filter((s) => s === "passed").length;
      c.failed += statuses.filter((s) => s === "failed").length;
      c.skipped += statuses.filter((s) => s !== "passed" && s !== "failed").length;
      // A failed file counts once when no test in it failed (an import error, a failing hook).
      if (f.status === "failed" && !statuses.includes("failed")) c.failed++;
    }
  }
  if (code !== 0 && lanes.every((l) => counts[l].failed === 0)) counts[lanes[0]].failed = 1;
  return lanes.map((lane) => ({ lane, code: counts[lane].failed > 0 ? code || 1 : 0, ...counts[lane] }));
}

// One results file per lane and run: concurrent runs in one checkout must not read each other's.
function reportFile(lane) {
  const file = path.join(repo, ".sie-fleet", `test-results-${lane}-${process.pid}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  return file;
}

/**
 * Runs one lane, or the default and reliability lanes as one vitest run (vitest.shared.config.ts:
 * their files share the two workers, so neither lane's last file runs alone); one result per lane.
 */
async function runLanes(group, extra, env) {
  const name = group.join("+");
  const file = reportFile(name);
  const config = group.length === 1 ? CONFIGS[group[0]] : "vitest.shared.config.ts";
  const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs");
  const args = [vitest, "run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${file}`, ...extra];
  const code = await timed(`lane ${name}`, () => run(process.execPath, args, env));
  const results = readReport(file, code, group);
  fs.rmSync(file, { force: true });
  return results;
}

/** Type check, format and lint: one pass or failure each. */
async function staticChecks() {
  const checks = [
    ["tsc --noEmit", path.join(repo, "node_modules", "typescript", "bin", "tsc"), ["--noEmit", "-p", "tsconfig.json"]],
    ["biome ci .", path.join(repo, "node_modules", "@biomejs", "biome", "bin", "biome"), ["ci", "."]],
    // No import circle, and each folder imports only the layers below it (.dependency-cruiser.cjs).
    [
      "depcruise (import layers)",
      path.join(repo, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"),
      ["--config", ".dependency-cruiser.cjs", "core", "infra", "cluster", "automation"],
    ],
  ];
  const r = { lane: "static", code: 0, passed: 0, failed: 0, skipped: 0 };
  for (const [name, bin, args] of checks) {
    const code = await timed(`== ${name}`, () => run(process.execPath, [bin, ...args]));
    if (code === 0) r.passed++;
    else {
      r.failed++;
      r.code = 1;
      console.error(`[run-tests] ${name} failed (exit ${code})${name.startsWith("biome") ? "; `npx biome check --write .` fixes formatting" : ""}`);
    }
  }
  return r;
}

/**
 * The Go-built tools each lane needs, in two chains at once. A cold build of one binary keeps 2
 * cores only partly busy (kube-apiserver: 350 s wall for 394 CPU-s, the provider 590 s for 871),
 * so the other chain fills the idle core. KEDA compiles after the control plane, whose packages it
 * partly shares in Go's build cache; Karpenter and kubectl come after the provider, by when the
 * control plane is built too. Cold, with kubectl still at the end of the second chain, they took
 * 1470 s and 1703 s (docs/kube-tools.md). Each build prints its progress and its time.
 */
const TOOLS = {
  pulumi: { cmd: ["scripts/ensure-pulumi"], lanes: ["default", "reliability", "cluster"] },
  provider: { cmd: ["scripts/ensure-kube-tools", "--provider"], lanes: ["default", "reliability", "cluster"] },
  kube: { cmd: ["scripts/ensure-kube-tools"], lanes: ["default", "reliability", "cluster"] },
  // The cluster lane's KEDA, live-KEDA, zero-pool-node and demo tests; Karpenter's and the
  // zero-pool-node tests; kubectl for the runbook's own commands against the API server.
  keda: { cmd: ["scripts/ensure-kube-tools", "--keda"], lanes: ["cluster"] },
  karpenter: { cmd: ["scripts/ensure-kube-tools", "--karpenter"], lanes: ["cluster"] },
  kubectl: { cmd: ["scripts/ensure-kube-tools", "--kubectl"], lanes: ["cluster"] },
};
const CHAINS = [
  ["pulumi", "provider", "karpenter", "kubectl"],
  ["kube", "keda"],
];

/** Builds (or finds) what `lanes` need; resolves the tools that failed, by name, with their exit code. */
async function buildTools(lanes) {
  const wanted = (name) => TOOLS[name].lanes.some((l) => lanes.includes(l));
  const failed = [];
  const chain = async (names) => {
    for (const name of names.filter(wanted)) {
      const [script, ...args] = TOOLS[name].cmd;
      const code = await timed(`== ${TOOLS[name].cmd.join(" ")}`, () => run(path.join(repo, script), args));
      if (code !== 0) {
        failed.push({ name, what: `${TOOLS[name].cmd.join(" ")} exited ${code}` });
        return;
      }
    }
  };
  await timed("== tools", () => Promise.all(CHAINS.map(chain)));
  return failed;
}

const { lanes, rest, staticChecks: withStatic } = parseArgs(process.argv.slice(2));
await ensureDeps();
const env = { ...process.env };
const results = [];
let clusterDir;
if (withStatic) {
  console.log("\n== static checks");
  results.push(await staticChecks());
}
if (lanes.some((l) => l !== "unit")) {
  console.log("\n== tools (two builds at a time)");
  const failed = await buildTools(lanes);
  if (failed.length > 0) {
    // A lane whose tools did not build fails as one test; the others still run.
    const broken = lanes.filter((l) => failed.some((f) => TOOLS[f.name].lanes.includes(l)));
    for (const f of failed) console.error(`[run-tests] could not build ${f.name}: ${f.what}; lanes ${broken.join(", ")} cannot run`);
    for (const lane of broken) results.push({ lane, code: 1, passed: 0, failed: 1, skipped: 0 });
    lanes.splice(0, lanes.length, ...lanes.filter((l) => !broken.includes(l)));
  }
}
if (lanes.some((l) => l === "default" || l === "reliability")) {
  clusterDir = path.resolve(env.SIE_FLEET_TEST_CLUSTER_DIR ?? path.join(repo, ".sie-fleet", "test-cluster"));
  env.SIE_FLEET_TEST_CLUSTER_DIR = clusterDir;
  console.log(`\n== embedded cluster for the default and reliability lanes (${clusterDir})`);
  const code = await timed("cluster start", () =>
    run(process.execPath, [path.join(repo, "bin", "sie-fleet.js"), "cluster", "start", "--dir", clusterDir, "--no-keda"], env),
  );
  if (code !== 0) console.error("[run-tests] the shared cluster did not start; its lanes will fail with the reason");
}
try {
  // The default and reliability lanes run as one group when both are asked for.
  const groups = [];
  for (const lane of lanes) {
    const shared = lane === "default" || lane === "reliability";
    const last = groups.at(-1);
    if (shared && last?.every((l) => l === "default" || l === "reliability")) last.push(lane);
    else groups.push([lane]);
  }
  for (const group of groups) {
    console.log(`\n== lane ${group.join(" + ")}`);
    const filtered = rest.length > 0 && !group.includes("cluster") ? [...rest, "--passWithNoTests"] : rest;
    results.push(...(await runLanes(group, filtered, env)));
  }
} finally {
  if (clusterDir) await run(process.execPath, [path.join(repo, "bin", "sie-fleet.js"), "cluster", "stop", "--dir", clusterDir], env);
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const r of results) {
  for (const k of Object.keys(total)) total[k] += r[k];
  if (results.length > 1) console.log(`lane ${r.lane}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
