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
import { parseImage, type FaultName } from "../cluster/faults.js";
import { applyScopeChanges, FaultScopeError, matchScope, parseScope as parseScopeChange, readStoredScopes, type FaultScope, type ScopeChange } from "../cluster/endpoints/faultScopes.js";
import type { Component } from "../cluster/endpoints/view.js";
import { T } from "./resources.js";
import { badRequest } from "./api/errors.js";

export const FAULT_SCOPES_OBJECT = { namespace: "kube-system", name: "sie-sim-fault-scopes", key: "scopes.json" } as const;

export type { FaultScope };

const cacheOf = new WeakMap<SimContext, { rv: string; scopes: FaultScope[] }>();

export function readFaultScopes(ctx: SimContext): FaultScope[] {
  const cm = ctx.store.get(T.configmaps, FAULT_SCOPES_OBJECT.namespace, FAULT_SCOPES_OBJECT.name);
  if (!cm) return [];
  const rv = String(cm.metadata.resourceVersion);
  let cache = cacheOf.get(ctx);
  if (cache?.rv !== rv) {
    cache = { rv, scopes: readStoredScopes(cm.data as Record<string, string> | undefined) };
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
export function parseScope(raw: unknown): ScopeChange {
  try {
    return parseScopeChange(raw);
  } catch (err) {
    throw err instanceof FaultScopeError ? badRequest(err.message) : err;
  }
}

/** Adds, replaces (same component/pool/version) or removes (`fault: null`) scopes. */
export function updateFaultScopes(ctx: SimContext, changes: readonly ScopeChange[], clear = false): FaultScope[] {
  const scopes = applyScopeChanges(readFaultScopes(ctx), changes, clear);
  if (clear || changes.length > 0) writeFaultScopes(ctx, scopes);
  return scopes;
}

/** The scoped fault of one pod running `image`, if a scope matches its component, pool and version. */
export function scopedFault(ctx: SimContext, pod: KObject, image: string): FaultName | undefined {
  const scopes = readFaultScopes(ctx);
  if (scopes.length === 0) return undefined;
  const labels = pod.metadata.labels ?? {};
  const target = { namespace: pod.metadata.namespace ?? "", component: labels["app.kubernetes.io/component"] as Component, pool: labels["sie.superlinked.com/pool"] ?? "", version: parseImage(image).version };
  return matchScope(scopes, target)?.fault;
}
