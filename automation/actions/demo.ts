// `sie-fleet demo`: the whole story from a fresh clone, on the embedded cluster: build or find the
// tools (Pulumi CLI, Kubernetes provider and helm, the control plane), start a real control plane
// with fake GPU nodes, install the real sie-cluster chart through the real Helm release, show the
// gateway answering, upgrade to a good version, then to a crash-looping one that the canary wave
// catches and reverts. Runs in a scratch copy of the project under the state dir (with its own
// cluster), so the checkout and any cluster of yours stay untouched. The metric gates query the
// cluster's own Prometheus through the API server, as the local stack names it.
import * as fs from "node:fs";
import * as path from "node:path";
import { deleteEmbeddedCluster, ensureKeda, ensureKubeTools, startEmbeddedCluster, stopEmbeddedCluster } from "../../cluster/index.js";
import { CHART_BASE_ENV } from "../../infra/release/chartSource.js";
import { STACK_OUTPUTS } from "../../infra/config/configKeys.js";
import { CLUSTER_DIR_ENV } from "../../infra/platforms/embeddedCluster.js";
import { ensureKubernetesTools } from "../engine/kubernetesPlugin.js";
import { ensurePulumi } from "../engine/pulumiCli.js";
import { makeScratchProject } from "../engine/scratchProject.js";
import { EXIT_CODES } from "../../core/errors.js";
import { serviceProxyUrl } from "../kube/apiProxy.js";
import { KubeClient } from "../kube/index.js";
import { sieService } from "../../core/workloads.js";
import { ProgressEmitter } from "../events/emitter.js";
import type { ActionContext } from "../../core/types.js";
import type { UpgradeResult } from "./results.js";
import { exitCodeForOutcome } from "../../core/types.js";
import { demoPreflight } from "./demoPreflight.js";
import { history } from "./history.js";
import { status } from "./status.js";
import { PROJECT_DIR_ENV } from "./target.js";
import { up } from "./up.js";
import { upgrade } from "./upgrade.js";

export interface DemoOptions {
  /** Leave the cluster (with its Prometheus) and the stack running afterwards. */
  keep?: boolean;
  /** The good and the bad target of the two upgrades. */
  goodTag?: string;
  badTag?: string;
}

export interface DemoReport {
  steps: { name: string; outcome: string; exitCode: number }[];
  projectDir: string;
  clusterDir: string;
}

const NAMESPACE = "sie";

export async function demo(opts: DemoOptions, ctx: ActionContext): Promise<DemoReport> {
  // What no build can provide (the chart, Go, disk space) is checked before the first build starts.
  const { chartBase, toBuild } = demoPreflight({ env: ctx.env ?? process.env });
  const emit = new ProgressEmitter(ctx.reporter, "demo");
  const steps: DemoReport["steps"] = [];
  const projectDir = path.resolve(ctx.stateDir, "demo");
  const stateDir = path.join(projectDir, ".sie-fleet");
  const clusterDir = path.join(stateDir, "cluster");
  const progress = (l: string) => emit.log("info", "preflight", l);

  emit.phase(
    "preflight",
    "started",
    toBuild.length > 0
      ? `building from Go modules what is not cached yet: ${toBuild.join(", ")} (a first build takes about 30 minutes on 2 cores, two builds at a time; later runs reuse it)`
      : "the tools are built: the Pulumi CLI, the Kubernetes provider and helm, the control plane, KEDA",
  );
  // Two builds at a time: a cold build of one binary leaves the second core idle for long
  // stretches, which the other chain fills (the control plane before KEDA, which reuses some of its
  // packages). Both chains end before a failure is reported, so no build is left running behind it.
  const built = await Promise.allSettled([
    ensurePulumi({ onProgress: progress }).then(() => ensureKubernetesTools({ onProgress: progress })),
    ensureKubeTools({ onProgress: progress }).then(() => ensureKeda({ onProgress: progress })),
  ]);
  for (const b of built) if (b.status === "rejected") throw b.reason;
  steps.push({ name: "tools ready (Pulumi CLI, Kubernetes provider, helm, control plane, KEDA)", outcome: "ok", exitCode: 0 });

  // A fresh project and cluster each time: the demo always starts from v0.3.1 on an empty cluster.
  await deleteEmbeddedCluster(clusterDir).catch(() => undefined);
  fs.rmSync(projectDir, { recursive: true, force: true });
  makeScratchProject(projectDir, { stacks: ["local"] });
  const sub: ActionContext = {
    ...ctx,
    stateDir,
    env: { ...(ctx.env ?? process.env), [PROJECT_DIR_ENV]: projectDir, [CLUSTER_DIR_ENV]: clusterDir, [CHART_BASE_ENV]: chartBase },
  };

  emit.phase(
    "preflight",
    "started",
    "starting the embedded cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok fake GPU nodes (6 L4, 4 A100, 4 CPU) and the SIE endpoint server",
  );
  const cluster = await startEmbeddedCluster({ dir: clusterDir, onProgress: progress });
  emit.log(
    "info",
    "preflight",
    `cluster ${cluster.server} ready in ${(cluster.readyInMs / 1000).toFixed(1)}s; look at it with kubectl --kubeconfig ${cluster.kubeconfigPath} get pods -n ${NAMESPACE} (or, with nothing installed: sie-fleet cluster kubectl --dir ${clusterDir} -- get pods -n ${NAMESPACE})`,
  );
  steps.push({ name: `embedded cluster up (${cluster.nodes} fake nodes)`, outcome: "ok", exitCode: 0 });

  // With Prometheus the canary is judged on its metrics too; without it, on rollout and endpoints.
  const prom = cluster.prometheus !== undefined || !!sub.env?.["SIE_FLEET_PROMETHEUS_URL"];
  if (cluster.prometheus) emit.log("info", "preflight", `metric gates on: Prometheus ${cluster.prometheus.service}, through the API server`);
  else if (!prom) {
    emit.log(
      "warn",
      "preflight",
      `the cluster has no Prometheus (${cluster.log} says why; scripts/install-prometheus installs it): the upgrades leave the metric gates out (--skip-check) and a good one ends unverified (exit 7)`,
    );
  }
  try {
    emit.phase("apply", "started", "deploying the local stack: pulumi up of the real sie-cluster chart (Helm release) and the KEDA ScaledObjects");
    const u = await up({ stack: "local", message: "demo: first deployment" }, sub);
    steps.push({
      name: `pulumi up local (${Object.entries(u.changeSummary)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})`,
      outcome: u.ready ? "ready" : "not-ready",
      exitCode: u.ready ? 0 : 1,
    });

    // The gateway as users reach theirs: its Service through the API server, with the kubeconfig.
    const kube = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
    const gateway = serviceProxyUrl(kube.server, sieService({ namespace: NAMESPACE, fullname: String(u.outputs[STACK_OUTPUTS.fullname]) }, "gateway"));
    const health = await kube.http(`${gateway}/health`);
    const body = (await health.json()) as { status?: string; cluster?: { worker_count?: number } };
    emit.log(
      "info",
      "verify",
      `gateway /health → ${health.status} ${body.status}, ${body.cluster?.worker_count ?? 0} worker(s), X-SIE-Server-Version ${health.headers.get("x-sie-server-version")}`,
    );
    steps.push({ name: `gateway answers: version ${health.headers.get("x-sie-server-version")}`, outcome: body.status ?? "?", exitCode: 0 });

    const record = (name: string, r: UpgradeResult) => steps.push({ name, outcome: r.outcome, exitCode: exitCodeForOutcome(r.outcome) });
    // Steady traffic, so error ratios and latencies have something to measure (stops by itself).
    await fetch(`${cluster.endpointsUrl}/control/load`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace: NAMESPACE, rps: 50, durationMs: 10 * 60_000 }),
    });
    if (cluster.keda && cluster.prometheus) steps.push(await showAutoscaling(`${cluster.endpointsUrl}/control/faults`, emit, sub));
    else emit.log("warn", "apply", `no autoscaling to show: the cluster runs ${cluster.keda ? "no Prometheus" : "no KEDA"} (${cluster.log} says why)`);
    const good = opts.goodTag ?? "v0.3.2";
    emit.phase("apply", "started", `upgrading to ${good} (a good release)`);
    // Without Prometheus its checks are left out explicitly, so the good upgrade ends unverified (exit 7).
    const skipChecks = prom ? [] : (["prometheus", "metric-gates"] as const);
    record(`upgrade --to ${good}`, await upgrade({ stack: "local", to: good, skipChecks }, sub));

    const bad = opts.badTag ?? "v0.3.3-crashloop";
    emit.phase("apply", "started", `upgrading to ${bad} (workers that crash: expect the canary wave to fail and an automatic revert)`);
    record(`upgrade --to ${bad}`, await upgrade({ stack: "local", to: bad, skipChecks }, sub));

    for (const h of (await history({ stack: "local", limit: 10 }, sub)).reverse()) {
      emit.log("info", "done", `update ${h.version}: ${h.kind} ${h.result} tag=${h.imageTag ?? "?"} ${h.message ?? ""}${h.outcome ? ` [${h.outcome}]` : ""}`);
    }
    const goodExit = prom ? EXIT_CODES.ok : EXIT_CODES.unverified;
    const ok = steps.every((s) =>
      s.name.endsWith(bad) ? s.exitCode === EXIT_CODES.reverted : s.name.endsWith(good) ? s.exitCode === goodExit : s.exitCode === 0,
    );
    emit.outcome(
      ok ? "succeeded" : "failed",
      ok ? 0 : 1,
      ok ? `demo complete: ${good} rolled out, ${bad} detected and reverted` : "demo did not go as expected",
    );
  } finally {
    await fetch(`${cluster.endpointsUrl}/control/load`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace: NAMESPACE, action: "stop" }),
    }).catch(() => undefined);
    if (opts.keep) emit.log("info", "done", `left running: the cluster (stop it with: sie-fleet cluster stop --dir ${clusterDir}); project in ${projectDir}`);
    else await stopEmbeddedCluster(clusterDir);
  }
  return { steps, projectDir, clusterDir };
}

/** The pool the demo's autoscaling step slows down; its ScaledObject scales it 1..3 in the local stack. */
const AUTOSCALED_POOL = "l4";

/**
 * KEDA at work, as on a cloud cluster: the pool's workers slow down (a scoped `-slow` fault: every
 * request 1.5 s longer), requests queue on them, the queue-depth metric in Prometheus rises, and
 * the HPA KEDA made adds workers up to the pool's max. A few `status` lines while it happens; the
 * fault is lifted afterwards (the added workers stay until the scale-down stabilization passes).
 */
async function showAutoscaling(faultsUrl: string, emit: ProgressEmitter, ctx: ActionContext): Promise<DemoReport["steps"][number]> {
  emit.phase("apply", "started", `autoscaling: pool ${AUTOSCALED_POOL}'s workers slow down, requests queue, and KEDA's HPA adds workers`);
  const scope = { namespace: NAMESPACE, component: "worker", pool: AUTOSCALED_POOL, version: "v0.3.1" };
  const setFault = (fault: string | null) =>
    fetch(faultsUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scopes: [{ ...scope, fault }] }) });
  const workers = async () =>
    (await status({ stack: "local" }, ctx)).workloads.find((w) => w.kind === "StatefulSet" && w.name.endsWith(`-worker-${AUTOSCALED_POOL}`));
  const before = await workers();
  await setFault("slow");
  const deadline = Date.now() + 150_000;
  let now = before;
  try {
    for (;;) {
      now = await workers();
      emit.log("info", "apply", `status: pool ${AUTOSCALED_POOL} ${now?.ready ?? 0}/${now?.desired ?? 0} workers ready (${now?.reason ?? "?"})`);
      if ((now?.desired ?? 0) > (before?.desired ?? 0) && now?.done) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 5_000));
    }
  } finally {
    await setFault(null);
  }
  const grew = (now?.ready ?? 0) > (before?.ready ?? 0);
  return {
    name: `autoscaling: pool ${AUTOSCALED_POOL} ${before?.ready ?? 0} → ${now?.ready ?? 0} workers under queued requests`,
    outcome: grew ? "scaled" : "did not scale",
    exitCode: grew ? 0 : 1,
  };
}
