// Applying the held release wave by wave: lift one group's hold, wait for its rollout (failing
// fast on broken pods), run the gates, then the next. Returns at the first failing wave.
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { releaseWave, type ProbeRecord } from "../../kube/index.js";
import type { GateResult, WaveReport, WaveSpec } from "../../../core/types.js";
import { rolloutGates, runVerification, type Baseline } from "../../verify/index.js";
import { holdTargets, releaseWorkloads, type Workload } from "../../../core/workloads.js";
import type { ZeroReplicaPool, ZeroReplicaPoolReport } from "../../plan/zeroReplicaPools.js";
import type { StackContext } from "../context.js";
import { rolloutTiming } from "./timing.js";
import { componentTagsAt } from "./verification.js";
import { prepullGates } from "./prepull.js";
import { endProbes, startProbes } from "./zeroReplicaProbe.js";
import type { ImageDigest } from "../../../core/imageDigests.js";
import { workloadDigests } from "../../kube/index.js";

export interface WavesOutcome {
  reports: WaveReport[];
  failedGate?: GateResult;
  /** StatefulSet → the revision its failing wave moved to (a revert deletes pods stuck on it). */
  badRevisions: Record<string, string>;
  /** The pools at zero whose waves ran, and how each was judged. */
  zeroReplicaPools: ZeroReplicaPoolReport[];
  /** What the probes' workers ran once their wave verified: gone by the end of the run, still verified evidence. */
  probedDigests: ImageDigest[];
}

/** Extra gates a caller runs once a wave's pods rolled out (the promotion's digest check). */
export type WaveGates = (wave: WaveSpec, workloads: readonly Workload[]) => Promise<GateResult[]>;

export async function applyWaves(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  opts: {
    to: string;
    baseline?: Baseline;
    signal?: AbortSignal;
    waveGates?: WaveGates;
    /** Pools at zero when held; probed or reported per rollout.zeroReplicaPools. */
    zeroPools?: readonly ZeroReplicaPool[];
    /** Probes in effect, kept up to date for the caller's revert. */
    probes?: ProbeRecord[];
  },
): Promise<WavesOutcome> {
  const reports: WaveReport[] = [];
  const badRevisions: Record<string, string> = {};
  const zeroReports: ZeroReplicaPoolReport[] = [];
  const probedDigests: ImageDigest[] = [];
  const policy = sc.config.rollout.zeroReplicaPools;
  const inEffect = opts.probes ?? [];
  const ns = sc.names.namespace;
  for (const wave of sc.waves) {
    const targets = releaseWorkloads(sc.names, wave);
    const report: WaveReport = { wave, status: "released", gates: [], startedAt: new Date().toISOString() };
    reports.push(report);
    // The wave's workers start from a cached image, and an image that cannot be pulled fails the
    // wave before any of its workers is replaced.
    report.gates.push(...(await prepullGates(sc, wave, emit, opts.signal)));
    const notPulled = report.gates.some((g) => g.status === "fail") ? await closeWave(journal, emit, report) : undefined;
    if (notPulled) {
      emit.wave(wave, "failed", `wave ${wave.name} failed before its release: ${notPulled.name}: ${notPulled.message}`, { evidence: notPulled.evidence });
      return { reports, failedGate: notPulled, badRevisions, zeroReplicaPools: zeroReports, probedDigests };
    }
    const release = holdTargets(targets);
    await journal.step("wave", JOURNAL_ACTIONS.waveRelease, { wave: wave.name, ...release }, () => releaseWave(sc.kube.api, ns, release), {
      message: wave.name,
    });
    emit.wave(wave, "released", `wave ${wave.name}: released ${targets.map((t) => t.name).join(", ") || "(nothing to roll)"}`);
    const atZero = (opts.zeroPools ?? []).filter((z) => wave.pools?.includes(z.pool));
    const probed = policy === "probe" ? atZero : [];
    // Released first: the probe's worker is created at the new revision.
    await startProbes(sc, journal, emit, wave.name, probed, inEffect);

    const timing = rolloutTiming(sc.config, wave.kind);
    const rollouts = await rolloutGates(sc.kube.api, ns, targets, {
      ...timing,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) =>
        emit.rollout("wave", { kind: p.kind, namespace: ns, name: p.name }, p.done, `${p.name}: ${p.reason} (${p.podsReady}/${p.podsTotal} ready)`, {
          wave: wave.name,
        }),
    });
    for (const { workload, outcome, gate } of rollouts) {
      report.gates.push(gate);
      if (workload.kind === "StatefulSet" && outcome.revision) badRevisions[workload.name] = outcome.revision;
    }
    // The caller's gates (a promotion's digest check) come first: pods running images nobody
    // verified fail the wave whatever their traffic looks like.
    const rolledOut = rollouts.every((r) => r.gate.status === "pass");
    if (rolledOut && opts.waveGates) report.gates.push(...(await opts.waveGates(wave, targets)));
    // The verification suite once the wave rolled out: images, endpoints, encode pinned to the
    // wave's pools, and the metric gates against the pre-upgrade baseline. Its own rollout check
    // is left out: the wave's rollout gates above already judged the rollout.
    if (rolledOut && report.gates.every((g) => g.status !== "fail")) {
      const componentTags = componentTagsAt(sc.config.release, opts.to);
      report.gates.push(
        ...(await runVerification({
          phase: "wave",
          wave,
          kube: sc.kube,
          names: sc.names,
          expectTag: opts.to,
          autoscaling: sc.config.autoscaling.enabled,
          ...(componentTags ? { componentTags } : {}),
          gates: sc.config.rollout.gates,
          skip: ["rollout"],
          ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
          ...(sc.configUrl ? { configUrl: sc.configUrl } : {}),
          ...(sc.prometheusUrl ? { prometheusUrl: sc.prometheusUrl } : {}),
          ...(opts.baseline ? { baseline: opts.baseline } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        })),
      );
    }
    const failed = await closeWave(journal, emit, report);
    if (failed) {
      zeroReports.push(...atZero.map((z) => ({ pool: z.pool, policy, status: policy === "probe" ? ("failed" as const) : ("unverified" as const) })));
      emit.wave(wave, "failed", `wave ${wave.name} failed: ${failed.name}: ${failed.message}`, { evidence: failed.evidence });
      // Probes stay in effect: the revert ends them first.
      return { reports, failedGate: failed, badRevisions, zeroReplicaPools: zeroReports, probedDigests };
    }
    if (probed.length > 0) {
      // Read before the probes end: a promotion from this stack compares with these too.
      const probedWorkloads = targets.filter((t) => probed.some((p) => sc.names.statefulSets[p.pool] === t.name));
      probedDigests.push(...(await workloadDigests(sc.kube.api, ns, probedWorkloads).catch(() => [])));
    }
    await endProbes(
      sc,
      journal,
      emit,
      "wave",
      inEffect.filter((r) => probed.some((p) => p.pool === r.pool)),
      inEffect,
      opts.signal,
    );
    zeroReports.push(...atZero.map((z) => ({ pool: z.pool, policy, status: policy === "probe" ? ("verified" as const) : ("unverified" as const) })));
    for (const z of atZero) {
      if (policy === "report")
        emit.log("warn", "wave", `pool ${z.pool} runs 0 workers and is left unverified (rollout.zeroReplicaPools: report)`, { wave: wave.name, pool: z.pool });
    }
    report.status = "succeeded";
    emit.wave(wave, "succeeded", `wave ${wave.name} healthy${probed.length ? ` (probed ${probed.map((p) => p.pool).join(", ")}, back at 0)` : ""}`);
  }
  return { reports, badRevisions, zeroReplicaPools: zeroReports, probedDigests };
}

/** Reports and journals the wave's gates and closes it: failed at its first failing gate, which it returns. */
async function closeWave(journal: Journal, emit: ProgressEmitter, report: WaveReport): Promise<GateResult | undefined> {
  for (const g of report.gates) emit.gate("wave", g, { wave: report.wave.name });
  await journal.evidence("wave", JOURNAL_ACTIONS.waveGates, report.gates, report.wave.name);
  report.finishedAt = new Date().toISOString();
  const failed = report.gates.find((g) => g.status === "fail");
  if (failed) report.status = "failed";
  return failed;
}
