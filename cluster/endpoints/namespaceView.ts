/**
 * One namespace of the cluster picture as the SIE HTTP side sees it: its SIE pods, which of them
 * a Service would send traffic to, and its worker pools.
 */
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { CHART_LABELS } from "../../core/workloads.js";
import { matchScope, type FaultScope } from "./faultScopes.js";
import type { PoolInfo } from "./metrics.js";
import type { NamespaceObjects } from "./poller.js";
import { componentOf, toSiePod, type Component, type SiePod } from "./view.js";
import { FAULTS } from "../faults.js";

const selects = (svc: V1Service, pod: V1Pod): boolean => {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
};

export class NamespaceView {
  private readonly byComponent = new Map<Component, SiePod[]>();

  constructor(
    readonly namespace: string,
    private readonly objects: NamespaceObjects | undefined,
    private readonly scopes: readonly FaultScope[],
  ) {}

  /** Every pod of one component, sorted by name. */
  pods(component: Component): SiePod[] {
    let list = this.byComponent.get(component);
    if (!list) {
      // Pod faults from scopes reach pods as their annotation when they are created (the webhook);
      // here only request faults apply live.
      const scopeFault = (p: Omit<SiePod, "fault">) => {
        const s = matchScope(this.scopes, { namespace: p.namespace, component: p.component, pool: p.pool, version: p.image.version });
        return s && FAULTS[s.fault].level === "request" ? s.fault : undefined;
      };
      list = (this.objects?.pods ?? [])
        .filter((p) => componentOf(p) === component)
        .map((p) => toSiePod(p, component, scopeFault))
        .sort((a, b) => a.name.localeCompare(b.name));
      this.byComponent.set(component, list);
    }
    return list;
  }

  /** The Services labelled with `component` (the chart's `<fullname>-gateway`, `-config`). */
  services(component: "gateway" | "config"): V1Service[] {
    return (this.objects?.services ?? []).filter((s) => s.metadata?.labels?.[CHART_LABELS.component] === component);
  }

  /**
   * The pods a Service labelled with `component` would route to: Ready, not terminating, matched
   * by its selector. Undefined when the namespace has no such Service (nothing to call at all).
   */
  endpoints(component: "gateway" | "config"): SiePod[] | undefined {
    const services = this.services(component);
    if (services.length === 0) return undefined;
    const pods = this.objects?.pods ?? [];
    const names = new Set(pods.filter((p) => services.some((s) => selects(s, p))).map((p) => p.metadata?.name));
    return this.pods(component).filter((p) => p.ready && names.has(p.name));
  }

  workers(): SiePod[] {
    return this.pods("worker");
  }

  /** Labels of a pool, from its StatefulSet (known even at zero replicas), else from one of its pods. */
  poolInfo(pool: string): PoolInfo {
    const sts = (this.objects?.statefulSets ?? []).find((s) => s.metadata?.labels?.[CHART_LABELS.pool] === pool);
    const labels = sts?.metadata?.labels ?? this.workers().find((w) => w.pool === pool)?.labels ?? {};
    return {
      namespace: this.namespace,
      pool,
      machine_profile: labels[CHART_LABELS.machineProfile] ?? labels[CHART_LABELS.gpuType] ?? pool,
      bundle: labels[CHART_LABELS.bundle] ?? "default",
    };
  }

  /** The chart's gpu-config `available-gpus`, else the GPU types of the pools' StatefulSets and pods. */
  configuredGpuTypes(): string[] {
    const configured = new Set<string>();
    for (const cm of this.objects?.configMaps ?? []) {
      for (const g of String(cm.data?.["available-gpus"] ?? "").split(",")) if (g.trim()) configured.add(g.trim());
    }
    if (configured.size === 0) {
      for (const s of this.objects?.statefulSets ?? []) {
        const g = s.metadata?.labels?.[CHART_LABELS.gpuType];
        if (g) configured.add(g);
      }
      for (const w of this.workers()) if (w.gpuType) configured.add(w.gpuType);
    }
    return [...configured].sort();
  }
}
