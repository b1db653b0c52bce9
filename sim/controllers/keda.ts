import type { Json, KObject } from "../store.js";
import { stableStringify } from "../store.js";
import { T, type ResourceType } from "../resources.js";
import type { SimContext } from "../context.js";
import { isoNow } from "./workload.js";

export const PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas";
export const PAUSED = "autoscaling.keda.sh/paused";
export const POOL_LABEL = "sie.superlinked.com/pool";

interface ScalerMemory {
  lastPollAt: number;
  /** When the recommendation first dropped below the current count (scale-down stabilization). */
  lowerSince?: number;
}

function targetType(so: KObject): ResourceType | undefined {
  const kind = so.spec?.scaleTargetRef?.kind ?? "Deployment";
  if (kind === "StatefulSet") return T.statefulsets;
  if (kind === "Deployment") return T.deployments;
  return undefined;
}

/** KEDA 2.14 pause semantics: paused-replicas wins; `paused` counts unless it is exactly "false". */
export function pauseState(so: KObject): { paused: boolean; replicas?: number } {
  const a = so.metadata.annotations ?? {};
  const raw = a[PAUSED_REPLICAS];
  const n = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw) : undefined;
  const flag = a[PAUSED] !== undefined && a[PAUSED] !== "false";
  return { paused: n !== undefined || flag, ...(n !== undefined ? { replicas: n } : {}) };
}

/**
 * A reduced KEDA operator: conditions Ready/Active/Fallback/Paused with KEDA's reasons, pause
 * annotations applied to the scale target, fallback replicas when the metrics source is down,
 * and otherwise a queue-depth autoscaler (ceil(depth/threshold) within min/max, scale-down
 * stabilized like the HPA behaviour the chart sets).
 */
export class KedaController {
  private readonly memory = new Map<string, ScalerMemory>();

  constructor(private readonly ctx: SimContext) {}

  reconcile(): void {
    for (const so of this.ctx.store.list(T.scaledobjects)) this.reconcileOne(so);
  }

  private setTargetReplicas(t: ResourceType, target: KObject, n: number, why: string): void {
    if ((target.spec?.replicas ?? 1) === n) return;
    const next = structuredClone(target);
    next.spec.replicas = n;
    next.metadata.resourceVersion = "";
    this.ctx.store.update(t, next);
    this.ctx.events.record(target, "Normal", "KEDAScaleTargetScaled", `Scaled ${target.kind.toLowerCase()} ${target.metadata.namespace}/${target.metadata.name} to ${n} (${why})`);
  }

  private reconcileOne(so: KObject): void {
    const { ctx } = this;
    const now = ctx.now();
    const ns = so.metadata.namespace!;
    const mem = this.memory.get(so.metadata.uid) ?? { lastPollAt: 0 };
    this.memory.set(so.metadata.uid, mem);
    const t = targetType(so);
    const targetName: string | undefined = so.spec?.scaleTargetRef?.name;
    const target = t && targetName ? ctx.store.get(t, ns, targetName) : undefined;
    const pause = pauseState(so);
    const hasFallback = so.spec?.fallback?.replicas !== undefined;
    const min: number = so.spec?.minReplicaCount ?? 0;
    const max: number = so.spec?.maxReplicaCount ?? 100;
    const pool: string | undefined = target?.spec?.template?.metadata?.labels?.[POOL_LABEL];
    const depth = pool ? (ctx.queueDepth.get(pool) ?? 0) : [...ctx.queueDepth.values()].reduce((a, b) => a + b, 0);
    const trig = (so.spec?.triggers ?? []).find((x: Json) => String(x.metadata?.query ?? "").includes("queue_depth")) ?? so.spec?.triggers?.[0];
    const threshold = Number(trig?.metadata?.threshold ?? 10) || 10;
    const activation = Number(trig?.metadata?.activationThreshold ?? 0) || 0;
    const fallbackActive = ctx.faults.metricsDown && hasFallback && !pause.paused && target !== undefined;

    if (target && t) {
      if (pause.replicas !== undefined) {
        this.setTargetReplicas(t, target, pause.replicas, `${PAUSED_REPLICAS}=${pause.replicas}`);
      } else if (!pause.paused) {
        const pollMs = (so.spec?.pollingInterval ?? 30) * ctx.timings.simSecondMs;
        if (now - mem.lastPollAt >= pollMs) {
          mem.lastPollAt = now;
          this.autoscale(so, t, target, mem, { min, max, depth, threshold, activation, fallbackActive });
        }
      }
    }

    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message });
    const ready = !target
      ? cond("Ready", "False", "ScaledObjectCheckFailed", `ScaledObject doesn't have correct scaleTargetRef specification: ${so.spec?.scaleTargetRef?.kind ?? "Deployment"} ${ns}/${targetName ?? ""} not found`)
      : ctx.faults.metricsDown && !hasFallback && !pause.paused
        ? cond("Ready", "False", "TriggerError", "Triggers defined in ScaledObject are not working correctly")
        : cond("Ready", "True", "ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling");
    const isActive = !ctx.faults.metricsDown && depth > activation;
    const active = isActive
      ? cond("Active", "True", "ScalerActive", "Scaling is performed because triggers are active")
      : cond("Active", "False", "ScalerNotActive", "Scaling is not performed because triggers are not active");
    const fallback = fallbackActive
      ? cond("Fallback", "True", "FallbackExists", "At least one trigger is falling back on this scaled object")
      : cond("Fallback", "False", "NoFallbackFound", "No fallbacks are active on this scaled object");
    const paused = pause.paused
      ? cond("Paused", "True", "ScaledObjectPaused", "ScaledObject is paused")
      : cond("Paused", "False", "ScaledObjectUnpaused", "ScaledObject is unpaused");

    const prev: Json = so.status ?? {};
    const status: Json = {
      ...(target && t ? { scaleTargetKind: `apps/v1.${target.kind}`, scaleTargetGVKR: { group: "apps", version: "v1", kind: target.kind, resource: t.resource } } : {}),
      ...(target ? { originalReplicaCount: prev.originalReplicaCount ?? target.spec?.replicas ?? 1 } : {}),
      ...(pause.paused ? {} : { hpaName: so.spec?.advanced?.horizontalPodAutoscalerConfig?.name ?? `keda-hpa-${so.metadata.name}` }),
      ...(pause.replicas !== undefined ? { pausedReplicaCount: pause.replicas } : {}),
      ...(isActive ? { lastActiveTime: isoNow(ctx) } : prev.lastActiveTime ? { lastActiveTime: prev.lastActiveTime } : {}),
      externalMetricNames: (so.spec?.triggers ?? []).map((_: Json, i: number) => `s${i}-prometheus`),
      health: Object.fromEntries(
        (so.spec?.triggers ?? []).map((_: Json, i: number) => [
          `s${i}-prometheus`,
          ctx.faults.metricsDown ? { numberOfFailures: 1, status: "Failure" } : { numberOfFailures: 0, status: "Happy" },
        ]),
      ),
      conditions: [ready, active, fallback, paused].map((c) => {
        const p = (prev.conditions ?? []).find((x: Json) => x.type === c.type);
        return p && p.status === c.status && p.reason === c.reason && p.message === c.message ? p : c;
      }),
    };
    if (stableStringify(status) !== stableStringify(prev)) {
      ctx.store.update(T.scaledobjects, { ...so, status, metadata: { ...so.metadata, resourceVersion: "" } }, "status");
    }
  }

  private autoscale(
    so: KObject,
    t: ResourceType,
    target: KObject,
    mem: ScalerMemory,
    m: { min: number; max: number; depth: number; threshold: number; activation: number; fallbackActive: boolean },
  ): void {
    const current: number = target.spec?.replicas ?? 1;
    if (this.ctx.faults.metricsDown) {
      if (m.fallbackActive) this.setTargetReplicas(t, target, so.spec.fallback.replicas, "fallback");
      return; // without a fallback the HPA has no metric and leaves the count alone
    }
    let want: number;
    if (m.min === 0 && m.depth <= m.activation) want = 0;
    else want = Math.min(m.max, Math.max(m.min, 1, Math.ceil(m.depth / m.threshold)));
    want = Math.min(m.max, Math.max(m.min, want));
    if (want > current) {
      mem.lowerSince = undefined;
      this.setTargetReplicas(t, target, want, `queue depth ${m.depth}`);
    } else if (want < current) {
      const windowS: number =
        so.spec?.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds ?? 300;
      mem.lowerSince ??= this.ctx.now();
      if (this.ctx.now() - mem.lowerSince >= windowS * this.ctx.timings.simSecondMs) {
        mem.lowerSince = undefined;
        this.setTargetReplicas(t, target, want, `queue depth ${m.depth}`);
      }
    } else mem.lowerSince = undefined;
  }
}
