/**
 * Scoped faults: "pods of pool X (or the gateway, or the config service) running version V
 * behave as fault F", so a fault can show up in a later wave of an upgrade instead of always in
 * the canary (a tag fault hits every component at once). A scope may name a namespace, so test
 * stacks sharing one control plane do not see each other's faults.
 *
 * The scopes live in the real cluster as a ConfigMap (FAULT_SCOPES_OBJECT), so they survive an
 * endpoint server restart and anyone with the kubeconfig can read them. The upgrade engine never
 * reads kube-system, so it cannot see them.
 */
import { FAULT_NAMES, isFaultName, normalizeVersion, type FaultName } from "../faults.js";
import { applyChanges, readStoredList } from "./storedChanges.js";
import { COMPONENTS, type Component } from "./view.js";

export const FAULT_SCOPES_OBJECT = { namespace: "kube-system", name: "sie-fleet-fault-scopes", key: "scopes.json" } as const;

export interface FaultScope {
  /** Namespace of the release; omitted = every namespace. */
  namespace?: string;
  component: Component;
  /** Worker pool (component "worker" only); omitted = every pool. */
  pool?: string;
  /** The version the component runs, with or without a leading "v" (e.g. "v0.3.2"). */
  version: string;
  fault: FaultName;
}

/** One requested change: `fault: null` removes the scope with the same target. */
export type ScopeChange = Omit<FaultScope, "fault"> & { fault: FaultName | null };

/** What a scope is matched against: one pod's place and version. */
export interface ScopeTarget {
  namespace: string;
  component: Component;
  pool: string;
  /** As parseImage reports it (no leading "v"). */
  version: string;
}

/** A scope that cannot be parsed; the message names the field and what it should be. */
export class FaultScopeError extends Error {
  override name = "FaultScopeError";
}

const sameTarget = (a: Omit<FaultScope, "fault">, b: Omit<FaultScope, "fault">): boolean =>
  (a.namespace ?? "") === (b.namespace ?? "") &&
  a.component === b.component &&
  (a.pool ?? "") === (b.pool ?? "") &&
  normalizeVersion(a.version) === normalizeVersion(b.version);

/** Validates one requested scope; throws FaultScopeError naming the bad field. */
export function parseScope(raw: unknown): ScopeChange {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (!COMPONENTS.includes(r["component"] as Component))
    throw new FaultScopeError(`scopes[].component must be one of ${COMPONENTS.join(", ")}, got ${JSON.stringify(r["component"])}`);
  if (typeof r["version"] !== "string" || r["version"] === "")
    throw new FaultScopeError(`scopes[].version must be the version string the pods run, e.g. "v0.3.2", got ${JSON.stringify(r["version"])}`);
  if (r["pool"] !== undefined && (typeof r["pool"] !== "string" || r["component"] !== "worker"))
    throw new FaultScopeError("scopes[].pool is a pool name and only applies to component worker");
  if (r["namespace"] !== undefined && (typeof r["namespace"] !== "string" || r["namespace"] === ""))
    throw new FaultScopeError(`scopes[].namespace must be a namespace name, got ${JSON.stringify(r["namespace"])}`);
  if (r["fault"] !== null && !isFaultName(r["fault"]))
    throw new FaultScopeError(`scopes[].fault must be one of ${FAULT_NAMES.join(", ")} (or null to remove), got ${JSON.stringify(r["fault"])}`);
  return {
    ...(r["namespace"] !== undefined ? { namespace: r["namespace"] as string } : {}),
    component: r["component"] as Component,
    ...(r["pool"] !== undefined ? { pool: r["pool"] as string } : {}),
    version: r["version"],
    fault: r["fault"] as FaultName | null,
  };
}

/** Adds, replaces (same target) or removes (`fault: null`) scopes; `clear` starts from none. */
export function applyScopeChanges(scopes: readonly FaultScope[], changes: readonly ScopeChange[], clear = false): FaultScope[] {
  return applyChanges(scopes, changes, sameTarget, (c) => (c.fault !== null ? { ...c, fault: c.fault } : undefined), clear);
}

/** The first scope that covers `t`, if any. */
export function matchScope(scopes: readonly FaultScope[], t: ScopeTarget): FaultScope | undefined {
  return scopes.find(
    (s) =>
      (s.namespace === undefined || s.namespace === t.namespace) &&
      s.component === t.component &&
      (s.pool === undefined || s.pool === t.pool) &&
      normalizeVersion(s.version) === t.version,
  );
}

/** The scopes stored in the ConfigMap's data; anything unreadable counts as none. */
export function readStoredScopes(data: Record<string, string> | undefined): FaultScope[] {
  return readStoredList(data, FAULT_SCOPES_OBJECT.key, (raw) => {
    const s = parseScope(raw);
    return s.fault === null ? undefined : { ...s, fault: s.fault };
  });
}
