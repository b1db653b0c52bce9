// Undoing a failed upgrade: pools probed from zero go back to zero, the stack's config file goes
// back to its snapshot, the release is applied again, holds are restored, pods stuck on the failed
// revision are deleted (a StatefulSet does not replace them by itself), and the previous version
// must verify healthy.
// Never loops: a failure here ends the run as needs-attention.
import { restoreConfigFile, type ConfigSnapshot } from "../../engine/configFile.js";
import { applyStack } from "../../engine/operations.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { deleteStuckPods, restoreHolds, selectorString, type HoldRecord, type ProbeRecord } from "../../kube/index.js";
import { rolloutGates } from "../../verify/index.js";
import type { GateResult, RunPhase } from "../../../core/types.js";
import { holdTargets, releaseWorkloads } from "../../../core/workloads.js";
import { finalVerification } from "./verification.js";
import type { StackContext } from "../context.js";
import { rolloutTiming } from "./timing.js";
import { endProbes } from "./zeroReplicaProbe.js";

export interface RevertInput {
  snapshot: ConfigSnapshot;
  holds?: HoldRecord;
  /** Pools probed from zero and not yet back: they go back first, taking the probe's pod with them. */
  probes?: ProbeRecord[];
  badRevisions: Record<string, string>;
  /** The tag we return to. */
  previousTag: string;
}

export interface RevertOutcome {
  ok: boolean;
  gates: GateResult[];
  deletedPods: string[];
  error?: string;
}

export async function revertToSnapshot(sc: StackContext, journal: Journal, emit: ProgressEmitter, input: RevertInput): Promise<RevertOutcome> {
  const ns = sc.names.namespace;
  const gates: GateResult[] = [];
  const deletedPods: string[] = [];
  try {
    emit.phase("revert", "started", `reverting to ${input.previousTag}: restoring the stack config snapshot`);
    if (input.probes?.length) await endProbes(sc, journal, emit, "revert", [...input.probes], input.probes);
    await restoreConfigStep(sc, journal, "revert", input.snapshot);
    await journal.step(
      "revert",
      JOURNAL_ACTIONS.pulumiUp,
      undefined,
      () => applyStack(sc.open, { message: `sie-fleet revert to ${input.previousTag}`, onStep: (l) => emit.log("info", "revert", l) }),
      {
        message: `revert to ${input.previousTag}`,
      },
    );
    const holds = input.holds;
    if (holds) await journal.step("revert", JOURNAL_ACTIONS.holdsRestore, holds, () => restoreHolds(sc.kube.api, holds));

    // Pods of any revision the StatefulSet no longer targets and that are not Ready are stuck
    // there (a killed run may not have recorded which revision failed).
    const workloads = releaseWorkloads(sc.names);
    const stuck = { ...input.badRevisions };
    for (const sts of holdTargets(workloads).statefulSets) {
      const obj = await sc.kube.api.getStatefulSet(ns, sts);
      const pods = await sc.kube.api.listPods(ns, selectorString(obj.spec?.selector));
      for (const p of pods) {
        const rev = p.metadata?.labels?.["controller-revision-hash"];
        if (rev && rev !== obj.status?.updateRevision && stuck[sts] === undefined) stuck[sts] = rev;
      }
    }
    for (const [sts, bad] of Object.entries(stuck)) {
      const res = await deleteStuckPods(sc.kube.api, ns, sts, bad, {
        onlyNotReady: true,
        beforeDelete: async (pods) => {
          await journal.writeBeforeSideEffect("revert", JOURNAL_ACTIONS.podsDelete, { statefulSet: sts, revision: bad, pods });
        },
      });
      deletedPods.push(...res.deleted);
      if (res.deleted.length) emit.log("info", "revert", `deleted pods stuck on failed revision ${bad}: ${res.deleted.join(", ")}`);
    }

    // A revert waits out slow pods instead of failing fast on not-ready: there is no other
    // version to fall back to, only a person to call.
    const base = rolloutTiming(sc.config, "pool");
    const rollouts = await rolloutGates(sc.kube.api, ns, workloads, { ...base, notReadyAfterMs: base.timeoutMs });
    gates.push(...rollouts.map((r) => r.gate));
    if (gates.every((g) => g.status === "pass")) {
      gates.push(...(await finalVerification(sc, input.previousTag, undefined, ["gateway-readyz", "encode-smoke"])));
    }
    for (const g of gates) emit.gate("revert", g);
    await journal.evidence("revert", JOURNAL_ACTIONS.revertVerify, gates);
    const failed = gates.find((g) => g.status === "fail");
    if (failed)
      return {
        ok: false,
        gates,
        deletedPods,
        error: `previous version ${input.previousTag} is not healthy after the revert: ${failed.name}: ${failed.message}`,
      };
    emit.phase("revert", "succeeded", `reverted to ${input.previousTag}; it verifies healthy`);
    return { ok: true, gates, deletedPods };
  } catch (err) {
    return { ok: false, gates, deletedPods, error: (err as Error).message };
  }
}

/** Puts the stack config file back to its snapshot, journaled (a revert, or recover before anything was applied). */
export async function restoreConfigStep(sc: StackContext, journal: Journal, phase: RunPhase, snapshot: ConfigSnapshot): Promise<void> {
  await journal.step(phase, JOURNAL_ACTIONS.configRestore, { file: snapshot.file, sha256: snapshot.sha256 }, () =>
    restoreConfigFile(sc.open.configFile, snapshot),
  );
}
