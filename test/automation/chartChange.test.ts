// The chart guardrail: an object diff of two renders, and the verdict on it.
import { describe, expect, it } from "vitest";
import { differingPaths, diffObjects, judgeChartChange } from "../../automation/plan/chartChange.js";
import type { RenderedObject } from "../../automation/plan/helmTemplate.js";

const obj = (kind: string, name: string, extra: Record<string, unknown> = {}): RenderedObject => ({ apiVersion: "v1", kind, metadata: { name }, ...extra });

describe("chart change", () => {
  it("lists the leaf paths that differ, objects key by key and lists index by index", () => {
    expect(differingPaths({ a: { b: 1, c: [1, 2] } }, { a: { b: 2, c: [1, 3] } })).toEqual(["a.b", "a.c[1]"]);
    expect(differingPaths({ a: [1] }, { a: [1, 2] })).toEqual(["a"]);
    expect(differingPaths({ a: 1 }, { a: 1 })).toEqual([]);
  });

  it("sorts objects into added, removed and changed", () => {
    const before = [obj("Deployment", "router"), obj("Service", "svc", { spec: { port: 1 } }), obj("ConfigMap", "same")];
    const after = [obj("Deployment", "gateway"), obj("Service", "svc", { spec: { port: 2 } }), obj("ConfigMap", "same")];
    expect(diffObjects(before, after)).toEqual({
      added: ["Deployment/gateway"],
      removed: ["Deployment/router"],
      changed: [{ object: "Service/svc", paths: ["spec.port"] }],
    });
  });

  it("allows in-place changes and refuses added or removed workloads unless forced, saying which", () => {
    const inPlace = {
      from: "0.3.0",
      to: "0.3.1",
      added: ["ConfigMap/new"],
      removed: [],
      changed: [{ object: "Deployment/gateway", paths: ["metadata.labels"] }],
    };
    expect(judgeChartChange(inPlace, false)).toMatchObject({ allowed: true, rule: "chart-in-place" });
    const replaces = { from: "0.2.0", to: "0.3.1", added: ["Deployment/gateway"], removed: ["Deployment/router"], changed: [] };
    const refused = judgeChartChange(replaces, false);
    expect(refused).toMatchObject({ allowed: false, rule: "chart-replaces-workloads" });
    expect(refused.reason).toContain("removes Deployment/router and adds Deployment/gateway");
    expect(judgeChartChange(replaces, true)).toMatchObject({ allowed: true, rule: "chart-forced" });
  });
});
