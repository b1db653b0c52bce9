// Journaled probes of pools at zero (kube/probe.ts): a wave starts them before its rollout gates,
// and ends them once its gates passed; a revert or `recover` ends whatever is still in effect
// before anything else, so the pool is back at zero whatever the run's fate.
import { InternalError } from "../../../core/errors.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { endProbe, startProbe, waitProbeEnded, type ProbeRecord } from "../../kube/index.js";
import type { RunPhase } from "../../../core/types.js";
import type { ZeroReplicaPool } from "../../plan/zeroReplicaPools.js";
import type { StackContext } from "../context.js";
import { rolloutTiming } from "./timing.js";

/** One worker is enough to run the new version through the wave's gates. */
const PROBE_REPLICAS = 1;

/** Scales each pool to its probe; `inEffect` holds every probe whose intent is journaled, for the revert. */
export async function startProbes(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  wave: string,
  pools: readonly ZeroReplicaPool[],
  inEffect: ProbeRecord[],
): Promise<void> {
  for (const p of pools) {
    const rec: ProbeRecord = { namespace: sc.names.namespace, ...p, replicas: 0, probeReplicas: PROBE_REPLICAS };
    await journal.step("wave", JOURNAL_ACTIONS.probeScale, rec, async () => {
      inEffect.push(rec);
      await startProbe(sc.kube.api, rec);
    });
    emit.log("info", "wave", `pool ${p.pool} runs 0 workers: probing it with ${PROBE_REPLICAS} worker of the new version`, { wave, pool: p.pool });
  }
}

/** Puts each probed pool back to its count and waits until the probe's pods are gone; removes them from `inEffect`. */
export async function endProbes(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  phase: RunPhase,
  records: readonly ProbeRecord[],
  inEffect: ProbeRecord[] = [],
  signal?: AbortSignal,
): Promise<void> {
  const { timeoutMs, pollMs } = rolloutTiming(sc.config, "pool");
  for (const rec of records) {
    await journal.step(phase, JOURNAL_ACTIONS.probeRestore, rec, async () => {
      await endProbe(sc.kube.api, rec);
      if (!(await waitProbeEnded(sc.kube.api, rec, { timeoutMs, pollMs, ...(signal ? { signal } : {}) }))) {
        throw new InternalError(
          `pool ${rec.pool}: StatefulSet ${rec.statefulSet} still has pods ${Math.round(timeoutMs / 1000)}s after being scaled back to ${rec.replicas}`,
          { hint: `kubectl -n ${rec.namespace} get pods -o wide | grep ${rec.statefulSet}; then sie-fleet status --stack ${sc.open.name}` },
        );
      }
    });
    const i = inEffect.indexOf(rec);
    if (i >= 0) inEffect.splice(i, 1);
    emit.log("info", phase, `pool ${rec.pool} back at ${rec.replicas} worker(s)`, { pool: rec.pool });
  }
}
