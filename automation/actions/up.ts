// `sie-fleet up`: apply the stack's config as it is, like `pulumi up` (creates the stack on
// first use). No waves: this is the plain apply, for parity and first deployments.
import { upStack } from "../engine/operations.js";
import { openStack } from "../engine/stack.js";
import { ProgressEmitter } from "../events/emitter.js";
import { newRunId } from "../journal/journal.js";
import { acquireLock } from "../locks/fileLock.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext, StepOp } from "../../core/types.js";
import { StackError } from "../../core/errors.js";
import { lockCluster, type LockedCluster } from "../locks/clusterLock.js";
import { isNotDeployed, loadStackContext, validateStackConfig } from "./context.js";
import { rolloutGates } from "../verify/index.js";
import { releaseWorkloads } from "../../core/workloads.js";
import { rolloutTiming } from "./upgrade/timing.js";
import { recoverIfNeeded } from "./recover.js";
import { stackTarget } from "./target.js";

export interface UpOptions {
  stack: string;
  message?: string;
}

export interface UpReport {
  stack: string;
  changeSummary: Partial<Record<StepOp, number>>;
  durationMs: number;
  outputs: Record<string, unknown>;
  /** Every workload rolled out and Ready afterwards (false when the cluster could not be reached). */
  ready: boolean;
}

/** Like `pulumi up` on Kubernetes resources, `up` returns once what it changed is rolled out. */
async function waitUntilReady(stack: string, ctx: ActionContext, emit: ProgressEmitter): Promise<boolean> {
  let sc: Awaited<ReturnType<typeof loadStackContext>>;
  try {
    sc = await loadStackContext(stackTarget(stack, ctx));
  } catch (err) {
    emit.log("warn", "verify", `not waiting for rollouts: ${(err as Error).message}`);
    return false;
  }
  const timing = rolloutTiming(sc.config, "pool");
  const rollouts = await rolloutGates(sc.kube.api, sc.names.namespace, releaseWorkloads(sc.names), {
    ...timing,
    notReadyAfterMs: timing.timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onGate: (g) => emit.gate("verify", g),
  });
  return rollouts.every((r) => r.gate.status === "pass");
}

export async function up(opts: UpOptions, ctx: ActionContext): Promise<UpReport> {
  assertStackName(opts.stack);
  const runId = newRunId();
  const emit = new ProgressEmitter(ctx.reporter, runId);
  const started = Date.now();
  const lock = await acquireLock({ stateDir: ctx.stateDir, stack: opts.stack, runId, command: "up", onWarning: (m) => emit.log("warn", "lock", m) });
  try {
    const s = await openStack(stackTarget(opts.stack, ctx), { create: true, onProgress: (l) => emit.log("info", "preflight", l) });
    // Bad config fails here with every problem listed, before Pulumi runs.
    validateStackConfig(await s.stack.getAllConfig(), opts.stack);
    const deployed = (await s.stack.history(1, 1, false)).length > 0;
    const cluster = deployed ? await lockDeployedCluster(opts.stack, runId, ctx, emit) : undefined;
    if (!cluster)
      emit.log(
        "info",
        "lock",
        `stack ${opts.stack} has no cluster holding its lock yet: this up is guarded by Pulumi's own stack lock and this machine's lock only`,
      );
    try {
      if (deployed) await recoverIfNeeded(opts.stack, ctx, emit, cluster?.journal);
      emit.phase("apply", "started", `pulumi up --stack ${opts.stack}`);
      const res = await upStack(s, {
        ...(opts.message ? { message: opts.message } : {}),
        onStep: (l) => emit.log("info", "apply", l),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      emit.phase(
        "apply",
        "succeeded",
        `stack ${opts.stack} is up to date (${Object.entries(res.resourceChanges)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
        { durationMs: Date.now() - started },
      );
      const ready = await waitUntilReady(opts.stack, ctx, emit);
      return {
        stack: opts.stack,
        changeSummary: res.resourceChanges as UpReport["changeSummary"],
        durationMs: Date.now() - started,
        outputs: res.outputs,
        ready,
      };
    } finally {
      await cluster?.release();
    }
  } finally {
    await lock.release();
  }
}

/**
 * The cluster lock of a stack that was deployed before, or undefined when its deployment left no
 * cluster to hold it (no outputs, the release namespace gone): this up creates that.
 */
async function lockDeployedCluster(stack: string, runId: string, ctx: ActionContext, emit: ProgressEmitter): Promise<LockedCluster | undefined> {
  let sc: Awaited<ReturnType<typeof loadStackContext>>;
  try {
    sc = await loadStackContext(stackTarget(stack, ctx));
  } catch (err) {
    if (isNotDeployed(err)) return undefined;
    throw err;
  }
  try {
    return await lockCluster(sc, { runId, command: "up", takeover: false, emit, env: ctx.env ?? process.env });
  } catch (err) {
    if (err instanceof StackError && err.code === "namespace-missing") return undefined;
    throw err;
  }
}
