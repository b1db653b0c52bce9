import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { digestOfImageId, digestSummary, type ImageDigest } from "../../core/imageDigests.js";
import { digestsOfPods } from "../../automation/kube/podDigests.js";
import { compareDigests, decidePromotion, describeMismatch, sourceRun, type SourceRun, type SourceState } from "../../automation/plan/promotionPolicy.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const WORKER = "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default";
const GATEWAY = "ghcr.io/superlinked/sie-gateway:v0.3.2";

const digest = (image: string, d: string, over: Partial<ImageDigest> = {}): ImageDigest => ({
  component: image.includes("gateway") ? "gateway" : "worker",
  ...(image.includes("gateway") ? {} : { pool: "l4" }),
  workload: image.includes("gateway") ? "Deployment/sie-gateway" : "StatefulSet/sie-worker-l4",
  image,
  digest: d,
  pods: 1,
  ...over,
});
const VERIFIED = [digest(WORKER, D1), digest(GATEWAY, D1)];

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const minutesAfter = (m: number) => T0 + m * 60_000;
const good: SourceRun = { runId: "r2", command: "upgrade", to: "v0.3.2", outcome: "succeeded", finishedAt: new Date(T0).toISOString(), digests: VERIFIED };
const source = (over: Partial<SourceState> = {}): SourceState => ({
  stack: "staging",
  configTag: "v0.3.2",
  live: VERIFIED,
  runs: [{ runId: "r1", command: "upgrade", to: "v0.3.1", outcome: "succeeded", finishedAt: new Date(T0 - 3600_000).toISOString() }, good],
  ...over,
});
const decide = (src: SourceState, now = minutesAfter(31), tag = "v0.3.2") =>
  decidePromotion({ stack: "prod", tag, policy: { from: "staging", minSoakMinutes: 30 }, source: src, now });

describe("decidePromotion", () => {
  it("allows a tag the source verified, soaked and still runs, with the run as evidence", () => {
    const v = decide(source());
    expect(v).toMatchObject({ allowed: true, evidence: { runId: "r2", digests: VERIFIED } });
    if (v.allowed) expect(v.evidence.soakedMinutes).toBeCloseTo(31);
  });

  it("refuses a tag the source never upgraded to, naming its last good run and the fix", () => {
    const v = decide(source(), minutesAfter(31), "v0.3.3");
    expect(v).toMatchObject({ allowed: false, rule: "promotion-unverified" });
    if (v.allowed) return;
    expect(v.reason).toMatch(
      /staging never ran v0\.3\.3 through a successful verified sie-fleet upgrade \(its last successful one went to v0\.3\.2 in run r2\)/,
    );
    expect(v.hint).toMatch(/sie-fleet upgrade --stack staging --to v0\.3\.3 --yes.*--force/);
  });

  it("does not count reverted, refused or dry runs, nor up", () => {
    for (const outcome of ["reverted", "refused", "dry-run", "needs-attention", "recovered"]) {
      expect(decide(source({ runs: [{ ...good, outcome }] }))).toMatchObject({ allowed: false, rule: "promotion-unverified" });
    }
    expect(decide(source({ runs: [{ ...good, command: "up" }] }))).toMatchObject({ allowed: false, rule: "promotion-unverified" });
    expect(decide(source({ runs: [{ ...good, command: "rollback" }] }))).toMatchObject({ allowed: true });
  });

  it("refuses before the soak ends, saying how long is left and when to retry", () => {
    const v = decide(source(), minutesAfter(12));
    expect(v).toMatchObject({ allowed: false, rule: "promotion-soaking", evidence: { runId: "r2" } });
    if (v.allowed) return;
    expect(v.reason).toContain("only 12 min ago");
    expect(v.reason).toContain("18 min to go");
    expect(v.hint).toContain("after 2026-03-01T10:30:00.000Z");
  });

  it("fractional soaks work (tests use seconds)", () => {
    const p = { from: "staging", minSoakMinutes: 0.05 };
    expect(decidePromotion({ stack: "prod", tag: "v0.3.2", policy: p, source: source(), now: T0 + 2_000 })).toMatchObject({ rule: "promotion-soaking" });
    expect(decidePromotion({ stack: "prod", tag: "v0.3.2", policy: p, source: source(), now: T0 + 3_500 })).toMatchObject({ allowed: true });
  });

  it("refuses when the source moved on, or its pods no longer run what it verified", () => {
    expect(decide(source({ configTag: "v0.3.1" }))).toMatchObject({ allowed: false, rule: "promotion-not-running" });
    const drifted = decide(source({ live: [digest(WORKER, D2), digest(GATEWAY, D1)] }));
    expect(drifted).toMatchObject({ allowed: false, rule: "promotion-not-running" });
    if (!drifted.allowed) expect(drifted.reason).toContain(`StatefulSet/sie-worker-l4 (pool l4) runs ${WORKER} at ${D2}, the run verified ${D1}`);
    expect(decide(source({ live: [] }))).toMatchObject({ allowed: false, rule: "promotion-not-running" });
    // A pool added since the run is not what the run verified, and not held against it.
    expect(decide(source({ live: [...VERIFIED, digest("ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", D2, { pool: "cpu" })] }))).toMatchObject({
      allowed: true,
    });
  });

  it("refuses while a source run is under way or unfinished", () => {
    const v = decide(source({ runs: [...source().runs, { runId: "r3", command: "upgrade", to: "v0.3.3", outcome: "unfinished" }] }));
    expect(v).toMatchObject({ allowed: false, rule: "promotion-source-busy" });
    if (!v.allowed) expect(v.hint).toContain("sie-fleet recover --stack staging");
  });

  it("refuses evidence that recorded no digests", () => {
    const { digests: _d, ...old } = good;
    expect(decide(source({ runs: [old] }))).toMatchObject({ allowed: false, rule: "promotion-no-digests" });
  });

  it("the newest proving run counts (a later upgrade to the same tag restarts the soak)", () => {
    const again = { ...good, runId: "r4", finishedAt: new Date(minutesAfter(25)).toISOString() };
    expect(decide(source({ runs: [...source().runs, again] }), minutesAfter(31))).toMatchObject({ allowed: false, rule: "promotion-soaking" });
  });
});

describe("compareDigests", () => {
  it("passes the same images at the same digests", () => {
    expect(compareDigests(VERIFIED, [digest(WORKER, D1, { pods: 3 })])).toEqual({ ok: true, compared: 1, mismatches: [] });
  });

  it("names both digests when a tag moved, and an image the source never ran", () => {
    const cmp = compareDigests(VERIFIED, [digest(WORKER, D2), digest("ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", D1, { pool: "cpu" })]);
    expect(cmp.ok).toBe(false);
    expect(cmp.mismatches).toHaveLength(2);
    expect(describeMismatch(cmp.mismatches[0]!, "staging")).toBe(
      `StatefulSet/sie-worker-l4 (pool l4) runs ${WORKER} at ${D2}, but staging verified it at ${D1}: the tag now points at another image`,
    );
    expect(describeMismatch(cmp.mismatches[1]!, "staging")).toMatch(/staging never ran that image, so it was never verified/);
  });
});

describe("digests from pods and journals", () => {
  it("reads the digest whatever the runtime's spelling, none before the pull", () => {
    expect(digestOfImageId(D1)).toBe(D1);
    expect(digestOfImageId(`docker-pullable://ghcr.io/x@${D2}`)).toBe(D2);
    expect(digestOfImageId("")).toBeUndefined();
    expect(digestOfImageId(undefined)).toBeUndefined();
  });

  it("counts pods per image and digest, leaving out terminating and unpulled pods", () => {
    const pod = (imageID: string, over: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
      metadata: { name: "p", ...over },
      spec: { containers: [{ name: "sie", image: WORKER }] },
      status: { containerStatuses: [{ name: "sie", image: WORKER, imageID, ready: true, restartCount: 0 }] },
    });
    const w = { kind: "StatefulSet" as const, name: "sie-worker-l4", component: "worker" as const, pool: "l4" };
    expect(digestsOfPods(w, [pod(D1), pod(D1), pod(D2), pod(""), pod(D2, { deletionTimestamp: new Date() })])).toEqual([
      { component: "worker", pool: "l4", workload: "StatefulSet/sie-worker-l4", image: WORKER, digest: D1, pods: 2 },
      { component: "worker", pool: "l4", workload: "StatefulSet/sie-worker-l4", image: WORKER, digest: D2, pods: 1 },
    ]);
    expect(digestSummary([digest(WORKER, D2), digest(GATEWAY, D1), digest(WORKER, D1)])).toBe("111111111111,222222222222");
  });

  it("takes a run's command, tag, outcome and digests from its journal", () => {
    const e = (kind: string, extra: object) => ({
      v: 1 as const,
      seq: 1,
      time: "2026-03-01T10:00:00.000Z",
      runId: "r",
      stack: "s",
      phase: "done" as const,
      kind,
      ...extra,
    });
    const run = sourceRun({
      runId: "r",
      entries: [e("start", { command: "upgrade", data: { to: "v0.3.2" } }), e("outcome", { outcome: "succeeded", data: { digests: VERIFIED } })] as never,
    });
    expect(run).toEqual({ runId: "r", command: "upgrade", to: "v0.3.2", outcome: "succeeded", finishedAt: "2026-03-01T10:00:00.000Z", digests: VERIFIED });
    expect(sourceRun({ runId: "k", entries: [e("start", { command: "upgrade", data: { to: "v0.3.2" } })] as never }).outcome).toBe("unfinished");
  });
});
