// The check runner: per-attempt timeout, retries with backoff for pending/retryable outcomes,
// no retry of definite fails, concurrency limit, stage gating.
import { describe, expect, it } from "vitest";
import { runCheck, runConcurrently, runInStages } from "../../automation/verify/runner.js";
import type { Check, CheckOutcome, VerifyContext } from "../../automation/verify/index.js";
import { imageTag, tagMatches } from "../../automation/verify/images.js";
import { resolveGates } from "../../automation/verify/metricGates.js";

const policy = { backoffMs: 5, timeoutMs: 200, retries: 3 };
const outcome = (status: CheckOutcome["status"], retryable?: boolean): CheckOutcome => ({
  status,
  message: status,
  evidence: {},
  ...(retryable !== undefined ? { retryable } : {}),
});

describe("runCheck", () => {
  it("retries pending until it settles, and reports the attempts", async () => {
    let n = 0;
    const r = await runCheck({ name: "slow", run: async () => (++n < 3 ? outcome("pending") : outcome("pass")) }, policy);
    expect(r).toMatchObject({ name: "slow", status: "pass", evidence: { attempts: 3 } });
  });
  it("a pending that outlives its retries fails, saying so", async () => {
    const r = await runCheck({ name: "never", run: async () => outcome("pending") }, policy);
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/^not settled after 4 attempt\(s\)/);
  });
  it("does not retry a definite fail", async () => {
    let n = 0;
    const r = await runCheck({ name: "500", run: async () => (n++, outcome("fail")) }, policy);
    expect(n).toBe(1);
    expect(r.status).toBe("fail");
  });
  it("retries a retryable fail and a thrown error", async () => {
    let n = 0;
    const r = await runCheck(
      {
        name: "flaky",
        run: async () => {
          if (++n === 1) throw new Error("ECONNREFUSED");
          return n === 2 ? outcome("fail", true) : outcome("pass");
        },
      },
      policy,
    );
    expect(r.status).toBe("pass");
    expect(n).toBe(3);
  });
  it("times out an attempt even if the check ignores its signal", async () => {
    const r = await runCheck({ name: "hang", retries: 0, run: () => new Promise<CheckOutcome>(() => undefined) }, { ...policy, timeoutMs: 50 });
    expect(r).toMatchObject({ status: "fail", message: "timed out after 50ms" });
  });
});

describe("runConcurrently and runInStages", () => {
  it("keeps order and never runs more than `concurrency` at once", async () => {
    let active = 0;
    let peak = 0;
    const mk = (i: number): Check => ({
      name: `c${i}`,
      run: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return outcome("pass");
      },
    });
    const results = await runConcurrently([0, 1, 2, 3, 4, 5].map(mk), { concurrency: 2 });
    expect(results.map((r) => r.name)).toEqual(["c0", "c1", "c2", "c3", "c4", "c5"]);
    expect(peak).toBe(2);
  });
  it("does not start a later stage after a fail; skipped checks warn", async () => {
    let ran = false;
    const ctx = { gates: resolveGates({}) } as unknown as VerifyContext;
    const results = await runInStages(
      [
        { name: "bad", run: async () => outcome("fail") },
        { name: "metric", stage: 1, run: async () => ((ran = true), outcome("pass")) },
      ],
      ctx,
      policy,
    );
    expect(ran).toBe(false);
    expect(results[1]).toMatchObject({ name: "metric", status: "warn", evidence: { blockedBy: "bad" } });
  });
});

describe("image tags", () => {
  it("parses tags with registries, ports and digests", () => {
    expect(imageTag("ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default")).toBe("v0.3.2-cuda12-default");
    expect(imageTag("localhost:5000/sie-gateway:v0.3.2@sha256:abc")).toBe("v0.3.2");
    expect(imageTag("localhost:5000/sie-gateway")).toBeUndefined();
  });
  it("workers need exactly -<platform>-<bundle> after the tag", () => {
    expect(tagMatches("v0.3.2-cuda12-default", "v0.3.2", "worker", "default")).toBe(true);
    expect(tagMatches("v0.3.2-cuda12-my-bundle", "v0.3.2", "worker", "my-bundle")).toBe(true);
    expect(tagMatches("v0.3.2-errors10-cuda12-default", "v0.3.2", "worker", "default")).toBe(false);
    expect(tagMatches("v0.3.2", "v0.3.2", "worker", "default")).toBe(false);
    expect(tagMatches("v0.3.1-cuda12-default", "v0.3.2", "worker")).toBe(false);
    expect(tagMatches("v0.3.2", "v0.3.2", "gateway")).toBe(true);
    expect(tagMatches("v0.3.2-5xx", "v0.3.2", "gateway")).toBe(false);
  });
});
