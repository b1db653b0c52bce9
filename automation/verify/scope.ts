// Which workloads a verification looks at: after a pool wave only that wave's StatefulSets (the
// others are still held on the old version on purpose), after the gateway or config wave that
// Deployment, at the end everything.
import type { WaveSpec } from "../types.js";
import type { VerifyContext, VerifyNames } from "./types.js";

export interface Workload {
  kind: "StatefulSet" | "Deployment";
  name: string;
  component: "worker" | "gateway" | "config";
  pool?: string;
}

export function allWorkloads(names: VerifyNames): Workload[] {
  return [
    ...Object.entries(names.statefulSets).map(([pool, name]) => ({ kind: "StatefulSet" as const, name, component: "worker" as const, pool })),
    { kind: "Deployment", name: names.gatewayDeployment, component: "gateway" },
    { kind: "Deployment", name: names.configDeployment, component: "config" },
  ];
}

export function workloadsInScope(names: VerifyNames, phase: "wave" | "final", wave?: WaveSpec): Workload[] {
  const all = allWorkloads(names).filter((w) => w.name !== "");
  if (phase === "final" || !wave) return all;
  if (wave.kind === "pool") return all.filter((w) => w.pool !== undefined && (wave.pools ?? []).includes(w.pool));
  return all.filter((w) => w.component === wave.kind);
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
