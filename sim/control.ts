import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "./context.js";
import { sendJson } from "../cluster/endpoints/http.js";
import { ApiError, badRequest } from "./api/errors.js";
import { FAULT_NAMES, parseImage, type FaultName } from "../cluster/faults.js";
import { parseScope, readFaultScopes, updateFaultScopes, type FaultScope } from "./faultScopes.js";
import { containerFault } from "./controllers/pods.js";
import { T } from "./resources.js";
import { isPodReady } from "./controllers/workload.js";
import type { LoadGenerator } from "../cluster/endpoints/loadgen.js";

export interface ControlDeps {
  ctx: SimContext;
  load: LoadGenerator;
  reset(): void;
  endpoints(): Record<string, string>;
}

/** Body of `POST /sim/faults`. Omitted fields are left as they are. */
export interface FaultRequest {
  /** KEDA's metrics source is down: ScaledObjects with a fallback go Fallback=True. */
  metricsDown?: boolean;
  /** Force a fault on running pods (null clears it). The fault dies with the pod. */
  pods?: { namespace?: string; name: string; fault: FaultName | null }[];
  /**
   * Scoped faults, kept in the simulator's saved state: pods of a component (and pool) running a
   * version behave as the fault. Each entry adds or replaces the scope for its component/pool/
   * version; `fault: null` removes it.
   */
  scopes?: (Omit<FaultScope, "fault"> & { fault: FaultName | null })[];
  /** Clear every runtime fault (and every scope) first. */
  clear?: boolean;
}

export function faultsView(ctx: SimContext) {
  const pods: { namespace?: string; name: string; fault: FaultName }[] = [];
  for (const p of ctx.store.list(T.pods)) {
    const f = ctx.faults.pods.get(p.metadata.uid);
    if (f) pods.push({ namespace: p.metadata.namespace, name: p.metadata.name, fault: f });
  }
  return { metricsDown: ctx.faults.metricsDown, pods, scopes: readFaultScopes(ctx) };
}

function parse(body: string): Record<string, unknown> {
  if (body.trim() === "") return {};
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw badRequest("body must be JSON");
  }
}

/** `/sim/...` endpoints on the API port: inspect the simulation and switch faults and load. */
export function createControlHandler(deps: ControlDeps) {
  const { ctx } = deps;
  return async (req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<boolean> => {
    const route = `${req.method ?? "GET"} ${url.pathname.replace(/\/+$/, "")}`;
    switch (route) {
      case "GET /sim/state":
        sendJson(res, 200, state(deps));
        return true;
      case "GET /sim/faults":
        sendJson(res, 200, faultsView(ctx));
        return true;
      case "POST /sim/faults": {
        const r = parse(body) as FaultRequest;
        if (r.scopes !== undefined && !Array.isArray(r.scopes)) throw badRequest("scopes must be a list of {component, pool?, version, fault}");
        const scopes = (r.scopes ?? []).map(parseScope);
        if (r.clear) {
          ctx.faults.metricsDown = false;
          ctx.faults.pods.clear();
        }
        updateFaultScopes(ctx, scopes, r.clear === true);
        if (r.metricsDown !== undefined) ctx.faults.metricsDown = Boolean(r.metricsDown);
        for (const p of r.pods ?? []) {
          const pod = ctx.store.mustGet(T.pods, p.namespace ?? "default", p.name);
          if (p.fault === null) ctx.faults.pods.delete(pod.metadata.uid);
          else if (FAULT_NAMES.includes(p.fault)) ctx.faults.pods.set(pod.metadata.uid, p.fault);
          else throw badRequest(`unknown fault ${JSON.stringify(p.fault)}; known: ${FAULT_NAMES.join(", ")}`);
        }
        sendJson(res, 200, faultsView(ctx));
        return true;
      }
      case "GET /sim/load":
        sendJson(res, 200, deps.load.status());
        return true;
      case "POST /sim/load": {
        const r = parse(body) as { action?: string; rps?: number; durationMs?: number; models?: string[]; pool?: string };
        if (r.action === "stop") {
          sendJson(res, 200, deps.load.stop());
          return true;
        }
        if (typeof r.rps !== "number" || typeof r.durationMs !== "number") {
          throw badRequest('start load with {"action":"start","rps":N,"durationMs":MS}; stop with {"action":"stop"}');
        }
        sendJson(
          res,
          200,
          deps.load.start({ rps: r.rps, durationMs: r.durationMs, ...(r.models ? { models: r.models } : {}), ...(r.pool ? { pool: r.pool } : {}) }),
        );
        return true;
      }
      case "POST /sim/reset":
        deps.reset();
        sendJson(res, 200, state(deps));
        return true;
      default:
        if (url.pathname.startsWith("/sim/")) throw new ApiError("NotFound", `no simulator control endpoint ${route}`);
        return false;
    }
  };
}

function state(deps: ControlDeps) {
  const { ctx } = deps;
  const pods = ctx.store.list(T.pods).map((p) => {
    const image: string = p.spec?.containers?.[0]?.image ?? "";
    const parsed = parseImage(image);
    const waiting = (p.status?.containerStatuses ?? []).map((c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason).find(Boolean);
    return {
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      component: p.metadata.labels?.["app.kubernetes.io/component"],
      pool: p.metadata.labels?.["sie.superlinked.com/pool"],
      phase: p.status?.phase,
      ready: isPodReady(p),
      terminating: p.metadata.deletionTimestamp !== undefined,
      reason: waiting,
      restarts: (p.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0),
      image,
      version: parsed.version,
      fault: containerFault(ctx, p, image),
      node: p.spec?.nodeName,
    };
  });
  const workloads = [...ctx.store.list(T.deployments), ...ctx.store.list(T.statefulsets)].map((w) => ({
    kind: w.kind,
    namespace: w.metadata.namespace,
    name: w.metadata.name,
    generation: w.metadata.generation,
    replicas: w.spec?.replicas,
    images: (w.spec?.template?.spec?.containers ?? []).map((c: { image?: string }) => c.image),
    status: w.status ?? {},
  }));
  return {
    endpoints: deps.endpoints(),
    timings: ctx.timings,
    resourceVersion: ctx.store.resourceVersion,
    faults: faultsView(ctx),
    queueDepth: Object.fromEntries(ctx.queueDepth),
    load: deps.load.status(),
    workloads,
    pods,
  };
}
