// KEDA's fallback never scales a pool down and never starts GPU workers that demand did not ask
// for: it is rendered only with behavior currentReplicasIfHigher, on a KEDA known to honour it.
import { describe, expect, it } from "vitest";
import { parseConfig, validateConfig } from "../../../infra/config/configParse.js";
import { kedaHasFallbackBehavior } from "../../../infra/release/kedaVersions.js";
import { chartFullname } from "../../../infra/release/releaseValues.js";
import { buildScaledObjects } from "../../../infra/release/scaledObjects.js";
import { gkeRaw, localRaw, withValue, type Raw } from "./fixtures.js";

const fallbackByPool = (raw: Raw) => {
  const cfg = parseConfig(raw);
  return Object.fromEntries(buildScaledObjects(cfg, chartFullname(cfg)).map((so) => [so.metadata.labels["sie.superlinked.com/pool"], so.spec.fallback]));
};

/** gkeRaw with KEDA installed by the stack (the newest KEDA in the table: 2.20). */
const gkeWithKeda = (): Raw => ({ ...gkeRaw(), "sie-fleet:keda": { install: true } });
const ifHigher = (replicas: number) => ({ failureThreshold: 3, replicas, behavior: "currentReplicasIfHigher" });

describe("KEDA fallback", () => {
  it("KEDA 2.17 added fallback.behavior", () => {
    expect(kedaHasFallbackBehavior("2.16.1")).toBe(false);
    expect(kedaHasFallbackBehavior("2.17.0")).toBe(true);
    expect(kedaHasFallbackBehavior("2.20.2")).toBe(true);
    expect(kedaHasFallbackBehavior("3.0.0")).toBe(true);
  });

  it("holds each pool at max(current, minReplicas): an outage never scales a pool down", () => {
    const raw = withValue(gkeWithKeda(), "pools.l4.minReplicas", 2);
    expect(parseConfig(raw).autoscaling.fallbackReplicas).toBeUndefined();
    // Pools at minReplicas 0 get none: KEDA empties a pool whose fallback has 0 replicas.
    expect(fallbackByPool(raw)).toEqual({ l4: ifHigher(2), "a100-40": undefined, "a100-80": undefined });
  });

  it("an explicit value applies to every pool as the floor, above minReplicas too (capacity during an outage)", () => {
    expect(fallbackByPool(withValue(gkeWithKeda(), "autoscaling.fallbackReplicas", 1))).toEqual({
      l4: ifHigher(1),
      "a100-40": ifHigher(1),
      "a100-80": ifHigher(1),
    });
  });

  it("is left out where KEDA may not honour behavior: a KEDA older than 2.17, or one the stack does not install", () => {
    // Kubernetes 1.30 gets KEDA 2.17: rendered; 2.16.1 pinned: left out.
    const k130 = withValue(gkeWithKeda(), "cluster.version", "1.30");
    expect(parseConfig(k130).keda.version).toBe("2.17.2");
    expect(fallbackByPool(withValue(k130, "pools.l4.minReplicas", 1))).toEqual({ l4: ifHigher(1), "a100-40": undefined, "a100-80": undefined });
    const old = fallbackByPool(withValue(k130, "keda.version", "2.16.1"));
    expect(Object.keys(old)).toEqual(["l4", "a100-40", "a100-80"]);
    expect(Object.values(old)).toEqual([undefined, undefined, undefined]);
    // keda.install false: whatever keda.version says, the cluster's KEDA is not known.
    for (const raw of [gkeRaw(), localRaw(), { ...gkeRaw(), "sie-fleet:keda": { install: false, version: "2.20.2" } }]) {
      const cfg = parseConfig(raw);
      for (const so of buildScaledObjects(cfg, chartFullname(cfg))) expect(so.spec).not.toHaveProperty("fallback");
    }
  });

  it("an explicit value above a pool's maxReplicas is an error naming the pools", () => {
    // a100-80: 1 node × 1 GPU = 1 worker at most; a100-40: 2 nodes × 2 = 4; l4: 4. The system pool runs no workers.
    const r = validateConfig(withValue(gkeWithKeda(), "autoscaling.fallbackReplicas", 2));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      {
        key: "sie-fleet:autoscaling.fallbackReplicas",
        reason: "2 is above the maxReplicas of pool(s) a100-80 (1)",
        hint: "lower it to at most 1, or remove it so each pool falls back to its minReplicas",
      },
    ]);
    expect(validateConfig(withValue(gkeWithKeda(), "autoscaling.fallbackReplicas", 0)).ok).toBe(true);
  });

  it("an explicit value that would have no effect (no fallback rendered) is an error saying why", () => {
    const problems = (raw: Raw) => {
      const r = validateConfig(raw);
      return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.reason} (${p.hint})`);
    };
    const notInstalled = problems(withValue(gkeRaw(), "autoscaling.fallbackReplicas", 1));
    expect(notInstalled).toEqual([
      expect.stringMatching(/^sie-fleet:autoscaling\.fallbackReplicas: has no effect: this stack does not install KEDA \(keda\.install: false\)/),
    ]);
    expect(notInstalled[0]).toContain("sie-fleet leaves the fallback out, so KEDA keeps each pool's current count");
    expect(notInstalled[0]).toContain("(remove it, or install KEDA 2.17 or newer from this stack");
    const old = problems(withValue(withValue(gkeWithKeda(), "autoscaling.fallbackReplicas", 1), "keda.version", "2.16.1"));
    expect(old).toEqual([expect.stringMatching(/has no effect: the KEDA this stack installs \(keda\.version 2\.16\.1\) predates 2\.17/)]);
    // With autoscaling off nothing is rendered, so nothing to say about KEDA.
    expect(problems(withValue(withValue(gkeRaw(), "autoscaling.fallbackReplicas", 1), "autoscaling.enabled", false))).toEqual([]);
  });
});
