// Runs checks: in stages (a stage starts only if the previous one had no fail, so a metric window
// is not spent on a wave that is already broken), a concurrency limit, a timeout per attempt, and
// retries with exponential backoff for outcomes that may still settle ("pending", or a fail
// marked retryable). A definite fail is never retried: retrying a 500 until it happens to pass
// would hide the fault.
import { CHECK_RUN } from "../../core/defaults.js";
import type { GateResult } from "../../core/types.js";
import { buildChecks } from "./checks.js";
import { describe } from "./prometheus.js";
import { sleep } from "./sleep.js";
import type { Check, CheckOutcome, VerifyCheckName, VerifyContext } from "./types.js";

/** Unset fields take core/defaults.ts CHECK_RUN. */
export interface RunPolicy {
  /** Checks at once. */
  concurrency?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts after the first. */
  retries?: number;
  /** First backoff; doubles per attempt up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  signal?: AbortSignal;
}

export async function runCheck(check: Check, policy: RunPolicy = {}): Promise<GateResult> {
  const started = Date.now();
  const retries = check.retries ?? policy.retries ?? CHECK_RUN.retries;
  const timeoutMs = check.timeoutMs ?? policy.timeoutMs ?? CHECK_RUN.timeoutMs;
  const backoff = policy.backoffMs ?? CHECK_RUN.backoffMs;
  const maxBackoff = policy.maxBackoffMs ?? CHECK_RUN.maxBackoffMs;
  let outcome: CheckOutcome = { status: "fail", message: "not run", evidence: {} };
  let attempts = 0;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (policy.signal?.aborted) {
      outcome = { status: "fail", message: `aborted before attempt ${attempt + 1}: ${outcome.message}`, evidence: outcome.evidence };
      break;
    }
    attempts++;
    outcome = await attemptOnce(check, timeoutMs, policy.signal);
    const again = outcome.status === "pending" || (outcome.status === "fail" && outcome.retryable === true);
    if (!again || attempt === retries) break;
    await sleep(Math.min(maxBackoff, backoff * 2 ** attempt), policy.signal);
  }
  const status = outcome.status === "pending" ? "fail" : outcome.status;
  const message =
    outcome.status === "pending" ? `not settled after ${attempts} attempt(s) in ${fmt(Date.now() - started)}: ${outcome.message}` : outcome.message;
  return { name: check.name, status, message, evidence: { ...outcome.evidence, attempts }, durationMs: Date.now() - started };
}

async function attemptOnce(check: Check, timeoutMs: number, outer?: AbortSignal): Promise<CheckOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  // The race makes the timeout hold even for a check that ignores its signal.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<CheckOutcome>((resolve) => {
    onAbort = () =>
      resolve({
        status: "fail",
        retryable: timeout.aborted,
        message: timeout.aborted ? `timed out after ${fmt(timeoutMs)}` : "aborted",
        evidence: { timeoutMs },
      });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([
      check.run(signal).catch((err: unknown): CheckOutcome => ({ status: "fail", retryable: true, message: describe(err), evidence: {} })),
      aborted,
    ]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Runs every check, at most `concurrency` at once; results keep the order of `checks`. */
export async function runConcurrently(checks: readonly Check[], policy: RunPolicy = {}): Promise<GateResult[]> {
  const results = new Array<GateResult>(checks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < checks.length) {
      const i = next++;
      results[i] = await runCheck(checks[i]!, policy);
    }
  };
  const n = Math.max(1, Math.min(policy.concurrency ?? CHECK_RUN.concurrency, checks.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

/** Builds the named checks (or takes ready Checks) and runs them stage by stage. */
export async function runInStages(list: readonly (VerifyCheckName | Check)[], ctx: VerifyContext, policy: RunPolicy = {}): Promise<GateResult[]> {
  const names = list.filter((c): c is VerifyCheckName => typeof c === "string");
  const built = buildChecks(names, ctx);
  const checks = [...built.checks, ...list.filter((c): c is Check => typeof c !== "string")];
  const results: GateResult[] = [...built.skipped];
  const stages = [...new Set(checks.map((c) => c.stage ?? 0))].sort((a, b) => a - b);
  for (const stage of stages) {
    const these = checks.filter((c) => (c.stage ?? 0) === stage);
    const failed = results.find((r) => r.status === "fail");
    if (failed) {
      for (const c of these)
        results.push({ name: c.name, status: "warn", message: `not run: ${failed.name} failed first`, evidence: { blockedBy: failed.name }, durationMs: 0 });
      continue;
    }
    results.push(...(await runConcurrently(these, policy)));
  }
  return results;
}

function fmt(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
