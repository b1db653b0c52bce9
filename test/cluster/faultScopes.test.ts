// Scoped faults without a cluster: parsing, updating and matching (cluster/endpoints/faultScopes.ts).
import { describe, expect, it } from "vitest";
import { applyScopeChanges, FaultScopeError, matchScope, parseScope, readStoredScopes, type FaultScope } from "../../cluster/endpoints/faultScopes.js";

const target = { namespace: "a", component: "worker" as const, pool: "l4", version: "0.3.2" };

describe("fault scopes", () => {
  it("parses a scope and names the bad field otherwise", () => {
    expect(parseScope({ namespace: "a", component: "worker", pool: "l4", version: "v0.3.2", fault: "crashloop" })).toEqual({
      namespace: "a",
      component: "worker",
      pool: "l4",
      version: "v0.3.2",
      fault: "crashloop",
    });
    expect(parseScope({ component: "gateway", version: "0.3.2", fault: null })).toEqual({ component: "gateway", version: "0.3.2", fault: null });
    expect(() => parseScope({ component: "db", version: "1", fault: "5xx" })).toThrow(/component must be one of gateway, config, worker/);
    expect(() => parseScope({ component: "gateway", pool: "l4", version: "1", fault: "5xx" })).toThrow(/pool .* only applies to component worker/);
    expect(() => parseScope({ component: "worker", version: "", fault: "5xx" })).toThrow(/version must be/);
    expect(() => parseScope({ component: "worker", version: "1", fault: "melt" })).toThrow(FaultScopeError);
    expect(() => parseScope({ namespace: 3, component: "worker", version: "1", fault: "5xx" })).toThrow(/namespace must be/);
  });

  it("a change replaces the scope with the same target (v-prefix or not), null removes it, clear starts over", () => {
    let s: FaultScope[] = applyScopeChanges([], [parseScope({ component: "worker", pool: "l4", version: "v0.3.2", fault: "noready" })]);
    s = applyScopeChanges(s, [
      parseScope({ component: "worker", pool: "l4", version: "0.3.2", fault: "5xx" }),
      parseScope({ component: "config", version: "0.3.2", fault: "slow" }),
    ]);
    expect(s.map((x) => x.fault)).toEqual(["5xx", "slow"]);
    s = applyScopeChanges(s, [parseScope({ component: "worker", pool: "l4", version: "v0.3.2", fault: null })]);
    expect(s.map((x) => x.component)).toEqual(["config"]);
    expect(applyScopeChanges(s, [], true)).toEqual([]);
  });

  it("matches namespace, component, pool and version only", () => {
    const scopes: FaultScope[] = [{ namespace: "a", component: "worker", pool: "l4", version: "v0.3.2", fault: "crashloop" }];
    expect(matchScope(scopes, target)?.fault).toBe("crashloop");
    expect(matchScope(scopes, { ...target, namespace: "b" })).toBeUndefined();
    expect(matchScope(scopes, { ...target, pool: "a100" })).toBeUndefined();
    expect(matchScope(scopes, { ...target, version: "0.3.1" })).toBeUndefined();
    expect(matchScope(scopes, { ...target, component: "gateway", pool: "" })).toBeUndefined();
    // No namespace or pool in the scope: every namespace and pool.
    expect(matchScope([{ component: "worker", version: "0.3.2", fault: "5xx" }], { ...target, namespace: "z", pool: "x" })?.fault).toBe("5xx");
  });

  it("reads what it stored and drops what it cannot read", () => {
    const scopes: FaultScope[] = [{ component: "gateway", version: "0.3.2", fault: "5xx" }];
    expect(readStoredScopes({ "scopes.json": JSON.stringify(scopes) })).toEqual(scopes);
    expect(readStoredScopes({ "scopes.json": JSON.stringify([...scopes, { component: "db" }]) })).toEqual(scopes);
    expect(readStoredScopes({ "scopes.json": "{not json" })).toEqual([]);
    expect(readStoredScopes(undefined)).toEqual([]);
  });
});
