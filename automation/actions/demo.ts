// `sie-fleet demo`: the whole story on the embedded local platform, from a fresh clone: build or
// find the Pulumi CLI, start the SIE simulator, deploy the `local` stack, show the gateway
// answering, upgrade to a good version, then to a bad one that is detected and reverted.
// Runs in a scratch copy of the project under the state dir, so the checkout stays untouched.
import * as fs from "node:fs";
import * as path from "node:path";
import { makeScratchProject } from "../engine/scratchProject.js";
import { ensurePulumi } from "../engine/pulumiCli.js";
import { EXIT_CODES } from "../errors.js";
import { ProgressEmitter } from "../events/emitter.js";
import type { ActionContext, UpgradeResult } from "../types.js";
import { exitCodeForOutcome } from "../types.js";
import { spawnSimulator } from "../../sim/index.js";
import { prometheusUnavailable, startPrometheus, type PrometheusServer } from "../../sim/prometheus.js";
import { history } from "./history.js";
import { PROJECT_DIR_ENV } from "./target.js";
import { up } from "./up.js";
import { upgrade } from "./upgrade.js";

export interface DemoOptions {
  /** Simulator timing profile. */
  profile?: "fast" | "demo";
  /** Leave the simulator and stack in place afterwards. */
  keep?: boolean;
  /** The good and the bad target of the two upgrades. */
  goodTag?: string;
  badTag?: string;
}

export interface DemoReport {
  steps: { name: string; outcome: string; exitCode: number }[];
  projectDir: string;
}

export async function demo(opts: DemoOptions, ctx: ActionContext): Promise<DemoReport> {
  const emit = new ProgressEmitter(ctx.reporter, "demo");
  const steps: DemoReport["steps"] = [];
  const projectDir = path.resolve(ctx.stateDir, "demo");

  emit.phase("preflight", "started", "finding or building the Pulumi CLI (the first build from Go modules takes ~10 minutes)");
  await ensurePulumi({ onProgress: (l) => emit.log("info", "preflight", l) });
  steps.push({ name: "Pulumi CLI ready", outcome: "ok", exitCode: 0 });

  // A fresh scratch project each time: the demo always starts from v0.3.1.
  const stale = path.join(projectDir, ".sie-fleet", "sim", "endpoints.json");
  if (fs.existsSync(stale)) {
    const pid = (JSON.parse(fs.readFileSync(stale, "utf8")) as { pid?: number }).pid;
    if (pid) try { process.kill(pid, "SIGTERM"); } catch { /* already gone */ }
  }
  fs.rmSync(projectDir, { recursive: true, force: true });
  makeScratchProject(projectDir, { stacks: ["local"] });
  const stateDir = path.join(projectDir, ".sie-fleet");
  const sub: ActionContext = { ...ctx, stateDir, env: { ...(ctx.env ?? process.env), [PROJECT_DIR_ENV]: projectDir, SIE_FLEET_SIM_DIR: path.join(stateDir, "sim") } };

  emit.phase("preflight", "started", "starting the SIE simulator (a Kubernetes API, SIE gateway/config/workers and KEDA on loopback)");
  const sim = await spawnSimulator({ stateDir: path.join(stateDir, "sim"), profile: opts.profile ?? "fast" });
  emit.log("info", "preflight", `simulator: API ${sim.api}, gateway ${sim.gateway}`);
  // With Prometheus the canary is judged on its metrics too; without it, on rollout and endpoints.
  const noProm = prometheusUnavailable();
  let prom: PrometheusServer | undefined;
  if (noProm) emit.log("warn", "preflight", `${noProm}: the demo runs without metric gates`);
  else {
    prom = await startPrometheus({ metricsUrl: sim.metrics, labels: { namespace: "sie" } });
    sub.env = { ...sub.env, SIE_FLEET_PROMETHEUS_URL: prom.url };
    emit.log("info", "preflight", `Prometheus ${prom.url} scraping the simulator; metric gates on`);
  }
  try {
    emit.phase("apply", "started", "deploying the local stack (pulumi up: node pools, namespace, SIE release, KEDA ScaledObjects)");
    const u = await up({ stack: "local", message: "demo: first deployment" }, sub);
    steps.push({ name: `pulumi up local (${Object.entries(u.changeSummary).map(([k, v]) => `${k} ${v}`).join(", ")})`, outcome: u.ready ? "ready" : "not-ready", exitCode: u.ready ? 0 : 1 });

    const health = await fetch(`${sim.gateway}/health`);
    const body = (await health.json()) as { status?: string; cluster?: { worker_count?: number } };
    emit.log("info", "verify", `gateway /health → ${health.status} ${body.status}, ${body.cluster?.worker_count ?? 0} worker(s), X-SIE-Server-Version ${health.headers.get("x-sie-server-version")}`);
    steps.push({ name: `gateway answers: version ${health.headers.get("x-sie-server-version")}`, outcome: body.status ?? "?", exitCode: 0 });

    const record = (name: string, r: UpgradeResult) => steps.push({ name, outcome: r.outcome, exitCode: exitCodeForOutcome(r.outcome) });
    // Steady traffic, so error ratios and latencies have something to measure (stops by itself).
    await fetch(`${sim.api}/sim/load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "start", rps: 50, durationMs: 10 * 60_000 }) });
    const good = opts.goodTag ?? "v0.3.2";
    emit.phase("apply", "started", `upgrading to ${good} (a good release)`);
    record(`upgrade --to ${good}`, await upgrade({ stack: "local", to: good }, sub));

    const bad = opts.badTag ?? (prom ? "v0.3.3-errors10" : "v0.3.3-crashloop");
    emit.phase("apply", "started", `upgrading to ${bad} (${prom ? "workers that look healthy but fail 10% of requests" : "workers that crash"}: expect an automatic revert)`);
    record(`upgrade --to ${bad}`, await upgrade({ stack: "local", to: bad }, sub));

    for (const h of (await history({ stack: "local", limit: 10 }, sub)).reverse()) {
      emit.log("info", "done", `update ${h.version}: ${h.kind} ${h.result} tag=${h.imageTag ?? "?"} ${h.message ?? ""}${h.outcome ? ` [${h.outcome}]` : ""}`);
    }
    const ok = steps.every((s) => (s.name.endsWith(bad) ? s.exitCode === EXIT_CODES.reverted : s.exitCode === 0));
    emit.outcome(ok ? "succeeded" : "failed", ok ? 0 : 1, ok ? `demo complete: ${good} rolled out, ${bad} detected and reverted` : "demo did not go as expected");
  } finally {
    await prom?.stop();
    if (opts.keep) emit.log("info", "done", `simulator left running (pid ${sim.pid}); project in ${projectDir}`);
    else await sim.stop();
  }
  return { steps, projectDir };
}
