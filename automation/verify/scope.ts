// Which workloads a verification looks at: after a pool wave only that wave's StatefulSets (the
// others are still held on the old version on purpose), after the gateway or config wave that
// Deployment, at the end everything.
import { releaseWorkloads, type Workload } from "../../core/workloads.js";
import type { VerifyContext } from "./types.js";

export function workloadsInScope(ctx: Pick<VerifyContext, "phase" | "wave" | "names">): Workload[] {
  return releaseWorkloads(ctx.names, ctx.phase === "wave" ? ctx.wave : undefined);
}

/** Pools whose new version is live: the wave's pools, or every pool at the end and after the pool waves. */
export function poolsInScope(ctx: Pick<VerifyContext, "phase" | "wave" | "names">): string[] {
  if (ctx.phase === "wave" && ctx.wave?.kind === "pool") return (ctx.wave.pools ?? []).filter((p) => ctx.names.statefulSets[p] !== undefined);
  return Object.keys(ctx.names.statefulSets);
}

/** True once every worker pool runs the new version (gateway/config waves come after the pools). */
export function allPoolsUpgraded(ctx: Pick<VerifyContext, "phase" | "wave">): boolean {
  return ctx.phase === "final" || ctx.wave?.kind === "gateway" || ctx.wave?.kind === "config";
}
