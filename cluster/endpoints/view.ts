/**
 * SIE pods as the HTTP side sees them: which component, pool and version a pod is, whether it
 * serves, and which fault it carries. Labels are the sie-cluster chart's.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { CHART_LABELS } from "../../core/workloads.js";
import { FAULT_ANNOTATION, isFaultName, parseImage, type FaultName, type ParsedImage } from "../faults.js";

export const COMPONENTS = ["gateway", "config", "worker"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface SiePod {
  name: string;
  namespace: string;
  uid: string;
  component: Component;
  /** Worker pool ("" for gateway and config). */
  pool: string;
  machineProfile: string;
  bundle: string;
  gpuType: string;
  gpuCount: number;
  /** The service name workers are reached under (the StatefulSet's headless Service). */
  subdomain: string;
  labels: Record<string, string>;
  image: ParsedImage;
  /** The pod's fault: its annotation, else its image tag's, else a matching request-fault scope. */
  fault?: FaultName;
  /** The pod's addresses (status.podIPs, else status.podIP): what the API server dials to reach it. */
  ips: string[];
  /** Container ports it declares (the chart's `http`, 8080). */
  ports: number[];
  /** Container running (liveness would pass). */
  started: boolean;
  ready: boolean;
}

/** A pod's component, or undefined when it is not an SIE pod. */
export function componentOf(pod: V1Pod): Component | undefined {
  const c = pod.metadata?.labels?.[CHART_LABELS.component];
  return (COMPONENTS as readonly string[]).includes(c ?? "") ? (c as Component) : undefined;
}

/** A pod's worker pool: its chart label; a worker without one is in pool "default", other components in none (""). */
export function poolOf(labels: Record<string, string> | undefined, component: string): string {
  return labels?.[CHART_LABELS.pool] ?? (component === "worker" ? "default" : "");
}

/** A container of the pod is running and the pod is not terminating: it would accept connections. */
export function isRunning(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.containerStatuses ?? []).some((c) => c.state?.running);
}

/** Container ports the pod declares. */
export function containerPorts(pod: V1Pod): number[] {
  return (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
}

/** Ready as a Service would count it: the Ready condition, and not terminating. */
function isServing(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** The pod's addresses (status.podIPs, else status.podIP). */
export function podIPs(pod: V1Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

function gpuRequest(pod: V1Pod): number {
  let n = 0;
  for (const c of pod.spec?.containers ?? []) n += Number(c.resources?.limits?.["nvidia.com/gpu"] ?? c.resources?.requests?.["nvidia.com/gpu"] ?? 0) || 0;
  return n;
}

/**
 * `scopeFault` names the request fault a scope gives this pod, if any; pod faults from scopes
 * reach the pod as its annotation when it is created, so they show here through that.
 */
export function toSiePod(pod: V1Pod, component: Component, scopeFault: (p: Omit<SiePod, "fault">) => FaultName | undefined): SiePod {
  const labels = pod.metadata?.labels ?? {};
  const image = parseImage(pod.spec?.containers?.[0]?.image ?? "");
  const pool = poolOf(labels, component);
  const annotated = pod.metadata?.annotations?.[FAULT_ANNOTATION];
  const base: Omit<SiePod, "fault"> = {
    name: pod.metadata?.name ?? "",
    namespace: pod.metadata?.namespace ?? "default",
    uid: pod.metadata?.uid ?? "",
    component,
    pool,
    machineProfile: labels[CHART_LABELS.machineProfile] ?? labels[CHART_LABELS.gpuType] ?? pool,
    bundle: labels[CHART_LABELS.bundle] ?? image.bundle ?? "default",
    gpuType: labels[CHART_LABELS.gpuType] ?? "",
    gpuCount: gpuRequest(pod),
    subdomain: pod.spec?.subdomain ?? "",
    labels,
    image,
    ips: podIPs(pod),
    ports: containerPorts(pod),
    started: isRunning(pod),
    ready: isServing(pod),
  };
  const fault = isFaultName(annotated) ? annotated : (image.fault ?? scopeFault(base));
  return fault ? { ...base, fault } : base;
}

/** Round-robin picker that survives the candidate set changing between calls. */
export class RoundRobin {
  private next = 0;
  pick<X>(xs: readonly X[]): X | undefined {
    if (xs.length === 0) return undefined;
    const x = xs[this.next % xs.length];
    this.next = (this.next + 1) % 1_000_000;
    return x;
  }
}
