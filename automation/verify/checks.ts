// The registry of named checks: each name maps to a factory that turns the verification context
// into zero or more Checks (one per workload, per pool, …), or explains why it cannot run; the
// default list per phase, and the list a run does after its skips. runner.ts runs what this builds.
import type { GateResult } from "../../core/types.js";
import { configHealthzCheck, encodeSmokeCheck, gatewayHealthCheck, gatewayModelsCheck, gatewayReadyzCheck } from "./endpoints.js";
import { endpointSampleCheck } from "./endpointSample.js";
import { imageChecks } from "./images.js";
import { kedaCheck } from "./kedaCheck.js";
import { metricGateChecks } from "./metricGates.js";
import { prometheusChecks } from "./promChecks.js";
import { rolloutChecks } from "./rolloutGates.js";
import { poolsInScope } from "./scope.js";
import type { Check, SampledComponent, VerifyCheckName, VerifyContext } from "./types.js";

export { VERIFY_CHECKS } from "../../infra/config/configSchema.js";
export { describeSkipped, SKIP_SOURCES, type SkippedCheck, type SkipSource } from "./skipped.js";
import type { SkippedCheck } from "./skipped.js";

/** Checks to build, or a reason they are skipped (reported as a "warn" gate). */
type Factory = (ctx: VerifyContext) => Check[] | { skipped: string };

/**
 * A component's sample gate: in the wave that rolled that component and in the final phase. Pool
 * waves leave the gateway and config service on the old version, which the pools' own gates
 * already sent traffic through.
 */
function sampleFactory(component: SampledComponent): Factory {
  return (ctx) => {
    const url = component === "gateway" ? ctx.gatewayUrl : ctx.configUrl;
    if (ctx.phase === "wave" && ctx.wave?.kind !== component) return [];
    return url ? [endpointSampleCheck(ctx, component, url)] : { skipped: `no ${component === "gateway" ? "gateway" : "config service"} URL` };
  };
}

export const CHECK_REGISTRY: Readonly<Record<VerifyCheckName, Factory>> = {
  rollout: rolloutChecks,
  images: imageChecks,
  "gateway-readyz": (ctx) => (ctx.gatewayUrl ? [gatewayReadyzCheck(ctx.kube.http, ctx.gatewayUrl)] : { skipped: "no gateway URL" }),
  "gateway-health": (ctx) => (ctx.gatewayUrl ? [gatewayHealthCheck(ctx, ctx.gatewayUrl)] : { skipped: "no gateway URL" }),
  "gateway-models": (ctx) => (ctx.gatewayUrl ? [gatewayModelsCheck(ctx.kube.http, ctx.gatewayUrl)] : { skipped: "no gateway URL" }),
  "config-healthz": (ctx) => (ctx.configUrl ? [configHealthzCheck(ctx.kube.http, ctx.configUrl)] : { skipped: "no config service URL" }),
  "encode-smoke": (ctx) => (ctx.gatewayUrl ? [encodeSmokeCheck(ctx, ctx.gatewayUrl)] : { skipped: "no gateway URL" }),
  "gateway-sample": sampleFactory("gateway"),
  "config-sample": sampleFactory("config"),
  keda: (ctx) => [kedaCheck(ctx)],
  prometheus: (ctx) => (ctx.prometheus ? prometheusChecks(ctx, ctx.prometheus) : { skipped: "no Prometheus URL configured (rollout.gates.prometheusUrl)" }),
  "metric-gates": (ctx) => {
    if (!ctx.prometheus) return { skipped: "no Prometheus URL configured (rollout.gates.prometheusUrl); metric gates not run" };
    const pools = ctx.phase === "wave" && ctx.wave?.kind === "pool" ? poolsInScope(ctx) : [];
    return metricGateChecks(ctx, ctx.prometheus, pools);
  },
};

/**
 * Defaults per phase. A wave is judged on what it changed; KEDA is checked at the end (after the
 * thaw). Metric gates observe pool waves, the sample gates the gateway and config waves (each
 * factory builds nothing for the other waves).
 */
export const DEFAULT_CHECKS: Readonly<Record<"wave" | "final", readonly VerifyCheckName[]>> = {
  wave: [
    "rollout",
    "images",
    "gateway-readyz",
    "gateway-health",
    "gateway-models",
    "encode-smoke",
    "prometheus",
    "metric-gates",
    "gateway-sample",
    "config-sample",
  ],
  final: [
    "rollout",
    "images",
    "gateway-readyz",
    "gateway-health",
    "gateway-models",
    "config-healthz",
    "encode-smoke",
    "keda",
    "prometheus",
    "gateway-sample",
    "config-sample",
  ],
};

/**
 * The checks a run does in `phase`: the stack's `rollout.gates.checks`, else the defaults, minus
 * `skip` (the stack's `rollout.gates.skip`, to which a run adds its --skip-check and --force skips:
 * see withSkippedChecks). The reach preflight, the baseline and every verification read this.
 */
export function phaseChecks(
  gates: { checks: Partial<Record<"wave" | "final", readonly VerifyCheckName[]>>; skip?: readonly VerifyCheckName[] },
  phase: "wave" | "final",
): readonly VerifyCheckName[] {
  const listed = gates.checks[phase] ?? DEFAULT_CHECKS[phase];
  const skip = gates.skip ?? [];
  return skip.length === 0 ? listed : listed.filter((c) => !skip.includes(c));
}

/**
 * The checks a run leaves out, each once with where the skip came from (the stack's file first):
 * only names the stack's lists (or the defaults) would run in some phase, as skipping a check that
 * never runs leaves nothing out.
 */
export function skippedChecks(
  gates: { checks: Partial<Record<"wave" | "final", readonly VerifyCheckName[]>>; skip?: readonly VerifyCheckName[] },
  flag: readonly VerifyCheckName[] = [],
): SkippedCheck[] {
  const listed = new Set([...phaseChecks({ checks: gates.checks }, "wave"), ...phaseChecks({ checks: gates.checks }, "final")]);
  const out: SkippedCheck[] = [];
  for (const [names, source] of [
    [gates.skip ?? [], "config"],
    [flag, "flag"],
  ] as const) {
    for (const name of names) if (listed.has(name) && !out.some((s) => s.name === name)) out.push({ name, source });
  }
  return out;
}

export interface BuiltChecks {
  checks: Check[];
  skipped: GateResult[];
}

export function buildChecks(names: readonly VerifyCheckName[], ctx: VerifyContext): BuiltChecks {
  const out: BuiltChecks = { checks: [], skipped: [] };
  for (const name of names) {
    const made = CHECK_REGISTRY[name](ctx);
    if (Array.isArray(made)) out.checks.push(...made);
    else out.skipped.push({ name, status: "warn", message: `skipped: ${made.skipped}`, evidence: { skipped: made.skipped }, durationMs: 0 });
  }
  return out;
}
