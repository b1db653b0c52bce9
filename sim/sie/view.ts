import type { KObject } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";
import { parseImage, type FaultName, type ParsedImage } from "../../cluster/faults.js";
import { containerFault } from "../controllers/pods.js";
import { gpuRequest } from "../controllers/scheduler.js";
import { isPodReady, isTerminating } from "../controllers/workload.js";

export { RoundRobin } from "../../cluster/endpoints/view.js";

export const COMPONENT_LABEL = "app.kubernetes.io/component";
export type Component = "gateway" | "config" | "worker";

/** One SIE pod as the HTTP side sees it: which component, pool and version it is, and whether it serves. */
export interface SiePod {
  pod: KObject;
  name: string;
  namespace: string;
  component: Component;
  pool: string;
  machineProfile: string;
  bundle: string;
  gpuType: string;
  gpuCount: number;
  image: ParsedImage;
  fault?: FaultName;
  /** Container started (liveness would pass). */
  started: boolean;
  ready: boolean;
}

function toSiePod(ctx: SimContext, pod: KObject, component: Component): SiePod {
  const labels = pod.metadata.labels ?? {};
  const imageRef: string = pod.spec?.containers?.[0]?.image ?? "";
  const image = parseImage(imageRef);
  const fault = containerFault(ctx, pod, imageRef);
  const pool = labels["sie.superlinked.com/pool"] ?? (component === "worker" ? "default" : "");
  return {
    pod,
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? "default",
    component,
    pool,
    machineProfile: labels["sie.superlinked.com/machine-profile"] ?? labels["sie.superlinked.com/gpu-type"] ?? pool,
    bundle: labels["sie.superlinked.com/bundle"] ?? image.bundle ?? "default",
    gpuType: labels["sie.superlinked.com/gpu-type"] ?? "",
    gpuCount: gpuRequest(pod),
    image,
    ...(fault ? { fault } : {}),
    started: !isTerminating(pod) && (pod.status?.containerStatuses ?? []).some((c: { state?: { running?: unknown } }) => c.state?.running),
    ready: isPodReady(pod),
  };
}

/** Pods of one SIE component, optionally limited to a namespace, sorted by name. */
export function siePods(ctx: SimContext, component: Component, namespace?: string): SiePod[] {
  return ctx.store
    .list(T.pods, namespace, [{ key: COMPONENT_LABEL, op: "=", value: component }])
    .map((p) => toSiePod(ctx, p, component));
}
