/**
 * Scoped faults: "pods of pool X (or the gateway, or the config service) running version V
 * behave as fault F", so a fault can show up in a later wave of an upgrade instead of always in
 * the canary (a tag fault hits every component at once).
 *
 * The scopes live in the object store as a ConfigMap (kube-system/sie-sim-fault-scopes), so they
 * are saved in state.json with everything else, survive a simulator restart, and `POST
 * /sim/reset` clears them. The upgrade engine never reads kube-system, so it cannot see them.
 */
import type { KObject } from "./store.js";
import type { SimContext } from "./context.js";
import { FAULT_NAMES, parseImage, type FaultName } from "./faults.js";
import { T } from "./resources.js";
import { badRequest } from "./api/errors.js";

export const FAULT_SCOPES_OBJECT = { namespace: "kube-system", name: "sie-sim-fault-scopes", key: "scopes.json" } as const;

export const SCOPE_COMPONENTS = ["worker", "gateway", "config"] as const;
export type ScopeComponent = (typeof SCOPE_COMPONENTS)[number];

export interface FaultScope {
  component: ScopeComponent;
  /** Worker pool (component "worker" only); omitted = every pool. */
  pool?: string;
  /** The version the component reports, with or without a leading "v" (e.g. "v0.3.2"). */
  version: string;
  fault: FaultName;
}

const norm = (v: string) => v.replace(/^v(?=\d)/, "");
const sameTarget = (a: Omit<FaultScope, "fault">, b: Omit<FaultScope, "fault">) => a.component === b.component && (a.pool ?? "") === (b.pool ?? "") && norm(a.version) === norm(b.version);

const cacheOf = new WeakMap<SimContext, { rv: string; scopes: FaultScope[] }>();

export function readFaultScopes(ctx: SimContext): FaultScope[] {
  const cm = ctx.store.get(T.configmaps, FAULT_SCOPES_OBJECT.namespace, FAULT_SCOPES_OBJECT.name);
  if (!cm) return [];
  const rv = String(cm.metadata.resourceVersion);
  let cache = cacheOf.get(ctx);
  if (cache?.rv !== rv) {
    let scopes: FaultScope[] = [];
    try {
      scopes = JSON.parse(String(cm.data?.[FAULT_SCOPES_OBJECT.key] ?? "[]")) as FaultScope[];
    } catch {
      /* edited by hand into something else: no scopes */
    }
    cache = { rv, scopes };
    cacheOf.set(ctx, cache);
  }
  return cache.scopes;
}

function writeFaultScopes(ctx: SimContext, scopes: FaultScope[]): void {
  const existing = ctx.store.get(T.configmaps, FAULT_SCOPES_OBJECT.namespace, FAULT_SCOPES_OBJECT.name);
  const data = { [FAULT_SCOPES_OBJECT.key]: JSON.stringify(scopes) };
  if (existing) ctx.store.update(T.configmaps, { ...existing, data });
  else {
    if (!ctx.store.get(T.namespaces, undefined, FAULT_SCOPES_OBJECT.namespace)) {
      ctx.store.create(T.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: FAULT_SCOPES_OBJECT.namespace } as KObject["metadata"], spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
    }
    ctx.store.create(T.configmaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: FAULT_SCOPES_OBJECT.name, namespace: FAULT_SCOPES_OBJECT.namespace } as KObject["metadata"], data });
  }
}

/** Validates one requested scope (`fault: null` removes it); throws 400 naming the bad field. */
export function parseScope(raw: unknown): Omit<FaultScope, "fault"> & { fault: FaultName | null } {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (!SCOPE_COMPONENTS.includes(r["component"] as ScopeComponent)) throw badRequest(`scopes[].component must be one of ${SCOPE_COMPONENTS.join(", ")}, got ${JSON.stringify(r["component"])}`);
  if (typeof r["version"] !== "string" || r["version"] === "") throw badRequest(`scopes[].version must be the version string the pods run, e.g. "v0.3.2", got ${JSON.stringify(r["version"])}`);
  if (r["pool"] !== undefined && (typeof r["pool"] !== "string" || r["component"] !== "worker")) throw badRequest("scopes[].pool is a pool name and only applies to component worker");
  if (r["fault"] !== null && !FAULT_NAMES.includes(r["fault"] as FaultName)) throw badRequest(`scopes[].fault must be one of ${FAULT_NAMES.join(", ")} (or null to remove), got ${JSON.stringify(r["fault"])}`);
  return { component: r["component"] as ScopeComponent, version: r["version"], ...(r["pool"] !== undefined ? { pool: r["pool"] as string } : {}), fault: r["fault"] as FaultName | null };
}

/** Adds, replaces (same component/pool/version) or removes (`fault: null`) scopes. */
export function updateFaultScopes(ctx: SimContext, changes: readonly ReturnType<typeof parseScope>[], clear = false): FaultScope[] {
  let scopes = clear ? [] : [...readFaultScopes(ctx)];
  for (const c of changes) {
    scopes = scopes.filter((s) => !sameTarget(s, c));
    if (c.fault !== null) scopes.push({ ...c, fault: c.fault });
  }
  if (clear || changes.length > 0) writeFaultScopes(ctx, scopes);
  return scopes;
}

/** The scoped fault of one pod running `image`, if a scope matches its component, pool and version. */
export function scopedFault(ctx: SimContext, pod: KObject, image: string): FaultName | undefined {
  const scopes = readFaultScopes(ctx);
  if (scopes.length === 0) return undefined;
  const labels = pod.metadata.labels ?? {};
  const component = labels["app.kubernetes.io/component"];
  const pool = labels["sie.superlinked.com/pool"];
  const version = parseImage(image).version;
  return scopes.find((s) => s.component === component && (s.pool === undefined || s.pool === pool) && norm(s.version) === version)?.fault;
}
