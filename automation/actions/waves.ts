// Applying the held release wave by wave: lift one group's hold, wait for its rollout (failing
// fast on broken pods), run the gates, then the next. Returns at the first failing wave.
import type { ProgressEmitter } from "../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../journal.js";
import { rolloutGate, type RolloutOutcome } from "../kube/index.js";
import type { GateResult, WaveReport, WaveSpec } from "../types.js";
import { runVerification, type Baseline } from "../verify/index.js";
import type { StackContext } from "./context.js";
import { rolloutTiming } from "./timing.js";

export interface WavesOutcome {
  reports: WaveReport[];
  failedGate?: GateResult;
  /** StatefulSet → the revision its failing wave moved to (a revert deletes pods stuck on it). */
  badRevisions: Record<string, string>;
}

function targetsOf(sc: StackContext, wave: WaveSpec): { kind: "StatefulSet" | "Deployment"; name: string }[] {
  if (wave.kind === "gateway") return [{ kind: "Deployment", name: sc.names.gatewayDeployment }];
  if (wave.kind === "config") return [{ kind: "Deployment", name: sc.names.configDeployment }];
  return (wave.pools ?? []).flatMap((p) => (sc.names.statefulSets[p] ? [{ kind: "StatefulSet" as const, name: sc.names.statefulSets[p] }] : []));
}

export async function applyWaves(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  opts: { to: string; baseline?: Baseline; signal?: AbortSignal },
): Promise<WavesOutcome> {
  const reports: WaveReport[] = [];
  const badRevisions: Record<string, string> = {};
  const ns = sc.names.namespace;
  for (const wave of sc.waves) {
    const targets = targetsOf(sc, wave);
    const report: WaveReport = { wave, status: "released", gates: [], startedAt: new Date().toISOString() };
    reports.push(report);
    const holdTargets = {
      statefulSets: targets.filter((t) => t.kind === "StatefulSet").map((t) => t.name),
      deployments: targets.filter((t) => t.kind === "Deployment").map((t) => t.name),
    };
    await journal.step("wave", JOURNAL_ACTIONS.waveRelease, { wave: wave.name, ...holdTargets }, () => sc.kube.releaseWave(ns, holdTargets), { message: wave.name });
    emit.wave(wave, "released", `wave ${wave.name}: released ${targets.map((t) => t.name).join(", ") || "(nothing to roll)"}`);

    const timing = rolloutTiming(sc.config.platform, wave.kind, sc.config.rollout.timeouts.applySeconds);
    const outcomes: RolloutOutcome[] = await Promise.all(
      targets.map((t) =>
        sc.kube.waitForRollout(ns, t.kind, t.name, {
          ...timing,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (p) => emit.rollout("wave", { kind: t.kind, namespace: ns, name: t.name }, p.done, `${t.name}: ${p.reason} (${p.podsReady}/${p.podsTotal} ready)`, { wave: wave.name }),
        }),
      ),
    );
    targets.forEach((t, i) => {
      const o = outcomes[i]!;
      report.gates.push(rolloutGate(t.kind, t.name, o));
      if (t.kind === "StatefulSet" && o.revision) badRevisions[t.name] = o.revision;
    });
    // The verification suite once the wave rolled out: images, endpoints, encode pinned to the
    // wave's pools, and the metric gates against the pre-upgrade baseline.
    if (report.gates.every((g) => g.status === "pass")) {
      const seen = new Set(report.gates.map((g) => g.name));
      const suite = await runVerification({
        phase: "wave",
        wave,
        kube: sc.kube,
        names: sc.names,
        expectTag: opts.to,
        gates: sc.config.rollout.gates,
        ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
        ...(sc.configUrl ? { configUrl: sc.configUrl } : {}),
        ...(sc.prometheusUrl ? { prometheusUrl: sc.prometheusUrl } : {}),
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      // The suite's rollout check repeats the wave's own rollout gate as a snapshot.
      report.gates.push(...suite.filter((g) => !seen.has(g.name)));
    }
    for (const g of report.gates) emit.gate("wave", g, { wave: wave.name });
    await journal.evidence("wave", JOURNAL_ACTIONS.waveGates, report.gates, wave.name);
    report.finishedAt = new Date().toISOString();
    const failed = report.gates.find((g) => g.status === "fail");
    if (failed) {
      report.status = "failed";
      emit.wave(wave, "failed", `wave ${wave.name} failed: ${failed.name}: ${failed.message}`, { evidence: failed.evidence });
      return { reports, failedGate: failed, badRevisions };
    }
    report.status = "succeeded";
    emit.wave(wave, "succeeded", `wave ${wave.name} healthy`);
  }
  return { reports, badRevisions };
}
