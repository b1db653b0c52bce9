// Every rollout gate (`rollout:<Kind>/<name>`) is judged here, from what kube/ reads; three
// callers want three judgements of the same status:
// - `rolloutGates`: wait for each rollout (kube/rollout.ts waitForRollout, which fails fast on
//   broken pods), then done passes and anything else fails: a wave, a revert, `up`.
// - `settledGates`: one read, judged strictly: preflight refuses to upgrade on top of a rollout
//   not done, a failing pod, or a hold left behind.
// - `rolloutChecks`: the verification suite's check, one read judged with patience: a rollout
//   that is not done but has no failing pod is "pending" and retried, so a slow but healthy
//   rollout is not failed early; CrashLoopBackOff, image-pull errors and pods Running but not
//   Ready past their grace period fail at once.
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { NOT_READY_AFTER_MS } from "../../core/defaults.js";
import type { GateResult } from "../../core/types.js";
import type { Workload } from "../../core/workloads.js";
import {
  hasPartition,
  isHeld,
  readRollout,
  waitForRollout,
  type KubeApi,
  type RolloutOutcome,
  type RolloutSnapshot,
  type WaitForRolloutOptions,
  type WorkloadKind,
} from "../kube/index.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

type WorkloadRef = Pick<Workload, "kind" | "name">;
/** What a rollout gate can wait for: a release workload, or a DaemonSet such as a pool's image pre-pull. */
type RolloutRef = { kind: WorkloadKind; name: string };

export function rolloutGateName(w: RolloutRef): string {
  return `rollout:${w.kind}/${w.name}`;
}

/**
 * Waits for every workload's rollout at once and judges each as a gate: done passes, anything
 * else fails. `onGate` sees each gate as its rollout ends; the result keeps the order of
 * `workloads`.
 */
export async function rolloutGates(
  kube: KubeApi,
  namespace: string,
  workloads: readonly RolloutRef[],
  opts: WaitForRolloutOptions & { onGate?: (gate: GateResult) => void },
): Promise<{ workload: RolloutRef; outcome: RolloutOutcome; gate: GateResult }[]> {
  const { onGate, ...wait } = opts;
  return Promise.all(
    workloads.map(async (workload) => {
      const outcome = await waitForRollout(kube, namespace, workload.kind, workload.name, wait);
      const gate: GateResult = {
        name: rolloutGateName(workload),
        status: outcome.status === "done" ? "pass" : "fail",
        message: outcome.reason,
        evidence: {
          outcome: outcome.status,
          ...(outcome.revision ? { revision: outcome.revision } : {}),
          ...("evidence" in outcome && outcome.evidence.length > 0 ? { pods: outcome.evidence } : {}),
        },
        durationMs: outcome.durationMs,
      };
      onGate?.(gate);
      return { workload, outcome, gate };
    }),
  );
}

/**
 * Every workload rolled out, with no failing pod and no hold left behind, as of now: preflight
 * refuses to upgrade on top of anything less. A read that fails is a failing gate.
 */
export async function settledGates(kube: KubeApi, namespace: string, workloads: readonly WorkloadRef[]): Promise<GateResult[]> {
  return Promise.all(
    workloads.map(async (w): Promise<GateResult> => {
      const name = rolloutGateName(w);
      const start = Date.now();
      try {
        const r = await readRollout(kube, namespace, w, 0);
        // Any partition, not only a full hold: a finished run leaves none (see kube/rolloutStatus.ts).
        const held = w.kind === "StatefulSet" ? hasPartition(r.obj as V1StatefulSet) : paused(r);
        const ok = r.status.done && r.failing.length === 0 && !held;
        return {
          name,
          status: ok ? "pass" : "fail",
          message: held ? `${w.kind} ${w.name} is held (partition/paused) by an unfinished run` : r.status.reason,
          evidence: { done: r.status.done, held, ...(r.failing.length ? { pods: r.failing } : {}) },
          durationMs: Date.now() - start,
        };
      } catch (err) {
        return { name, status: "fail", message: (err as Error).message, evidence: {}, durationMs: Date.now() - start };
      }
    }),
  );
}

export function rolloutChecks(ctx: VerifyContext): Check[] {
  return workloadsInScope(ctx).map((w) => rolloutCheck(ctx, w));
}

function rolloutCheck(ctx: VerifyContext, w: Workload): Check {
  const grace = ctx.notReadyAfterMs ?? NOT_READY_AFTER_MS[w.component === "worker" ? "pool" : w.component];
  return {
    name: rolloutGateName(w),
    async run() {
      const r = await readRollout(ctx.kube.api, ctx.names.namespace, w, grace);
      const { status: st, revision, pods, failing } = r;
      // Only a full hold is "not released yet"; a partial partition is judged by its rollout status.
      const held = w.kind === "StatefulSet" ? isHeld(r.obj as V1StatefulSet) : paused(r);
      const evidence = { done: st.done, held, ...(revision ? { revision } : {}), newPods: pods.length, ...(failing.length ? { pods: failing } : {}) };
      if (failing.length > 0) {
        const f = failing[0]!;
        return {
          status: "fail",
          message: `${w.kind} ${w.name}: pod ${f.pod} ${f.reason}${f.message ? ` (${f.message})` : ""}${failing.length > 1 ? ` and ${failing.length - 1} more` : ""}`,
          evidence,
        };
      }
      if (held) return { status: "pending", message: `${w.kind} ${w.name} is held (partition/paused); its wave has not been released`, evidence };
      if (!st.done) return { status: "pending", message: `${w.kind} ${w.name}: ${st.reason}`, evidence };
      return { status: "pass", message: st.reason, evidence };
    },
  };
}

/** A Deployment's hold is its pause: full or nothing, so both judgements read it the same way. */
function paused(r: RolloutSnapshot): boolean {
  return (r.obj as V1Deployment).spec?.paused === true;
}
