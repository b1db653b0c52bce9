import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { chooseReporterKind, fanOut, memoryReporter, ndjsonReporter, plainReporter, ProgressEmitter, ttyReporter } from "../../automation/events/index.js";
import type { GateResult, ProgressEvent } from "../../core/types.js";

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let buf = "";
  stream.on("data", (d) => (buf += d));
  return { stream, text: () => buf };
}

const T0 = Date.parse("2026-11-24T10:00:00Z");
const failedGate: GateResult = {
  name: "rollout:StatefulSet/sie-worker-l4",
  status: "fail",
  message: "pod sie-worker-l4-1 CrashLoopBackOff",
  evidence: { pods: [{ pod: "sie-worker-l4-1", reason: "CrashLoopBackOff", restartCount: 3, image: "sie-server:v0.3.2-crashloop" }] },
  durationMs: 4200,
};

function script(emit: ProgressEmitter): void {
  emit.phase("preflight", "started", "checking cluster");
  emit.phase("preflight", "succeeded", "cluster healthy", { durationMs: 1200 });
  emit.log("debug", "preflight", "kube server https://127.0.0.1:1234");
  emit.wave({ name: "canary", kind: "pool", pools: ["l4"] }, "released", "canary: releasing pool l4");
  emit.rollout("wave", { kind: "StatefulSet", namespace: "sie", name: "sie-worker-l4" }, false, "1 of 2 pods ready", { wave: "canary" });
  emit.gate("wave", failedGate, { wave: "canary" });
  emit.log("warn", "revert", "using passphrase hunter2-hunter2 to restore config");
  emit.outcome("reverted", 5, "reverted to v0.3.1");
}

describe("ProgressEmitter + ndjson", () => {
  it("writes one JSON object per line with the stable envelope, redacted", () => {
    const out = sink();
    let t = T0;
    script(new ProgressEmitter(ndjsonReporter({ stream: out.stream, secrets: ["hunter2-hunter2"] }), "run-1", () => (t += 10)));
    const lines = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ProgressEvent);
    // debug is dropped without --verbose
    expect(lines.map((l) => l.kind)).toEqual(["phase", "phase", "wave", "rollout", "gate", "log", "outcome"]);
    for (const l of lines) {
      expect(l).toMatchObject({ v: 1, runId: "run-1" });
      expect(typeof l.time).toBe("string");
      expect(typeof l.message).toBe("string");
    }
    expect(lines[2]).toMatchObject({ kind: "wave", phase: "wave", wave: "canary", waveKind: "pool", status: "released", pools: ["l4"] });
    expect(lines[4]).toMatchObject({ kind: "gate", wave: "canary", gate: { status: "fail", evidence: { pods: [{ reason: "CrashLoopBackOff" }] } } });
    expect(lines[5]!.message).toBe("using passphrase [REDACTED] to restore config");
    expect(lines[6]).toMatchObject({ kind: "outcome", phase: "done", outcome: "reverted", exitCode: 5 });
    expect(out.text()).not.toContain("hunter2-hunter2");
  });
});

describe("plain reporter", () => {
  it("prints one timestamped line per event plus evidence lines", () => {
    const out = sink();
    script(new ProgressEmitter(plainReporter({ stream: out.stream, secrets: ["hunter2-hunter2"], verbose: true }), "run-1", () => T0));
    const text = out.text();
    expect(text).toContain("2026-11-24T10:00:00.000Z start [preflight] checking cluster");
    expect(text).toContain("2026-11-24T10:00:00.000Z ok    [preflight] cluster healthy (1.2s)");
    expect(text).toContain("debug [preflight] kube server");
    expect(text).toContain("FAIL  [wave canary] gate rollout:StatefulSet/sie-worker-l4: pod sie-worker-l4-1 CrashLoopBackOff");
    expect(text).toContain("pod sie-worker-l4-1: CrashLoopBackOff, 3 restart(s), image sie-server:v0.3.2-crashloop");
    expect(text).toContain("WARN  [revert] using passphrase [REDACTED]");
    expect(text).not.toContain("hunter2-hunter2");
  });
});

describe("tty reporter", () => {
  it("persists finished phases and prints gates (spinner disabled off a terminal)", () => {
    const out = sink();
    const r = ttyReporter({ stream: out.stream });
    script(new ProgressEmitter(r, "run-1", () => T0));
    r.close?.();
    const text = out.text();
    expect(text).toContain("preflight: cluster healthy (1.2s)");
    expect(text).toContain("gate rollout:StatefulSet/sie-worker-l4");
    expect(text).toContain("reverted to v0.3.1");
  });
});

describe("choosing and combining reporters", () => {
  it("--json → ndjson, terminal → tty, otherwise plain", () => {
    expect(chooseReporterKind({ json: true, isTTY: true })).toBe("ndjson");
    expect(chooseReporterKind({ json: false, isTTY: true })).toBe("tty");
    expect(chooseReporterKind({ json: false, isTTY: true, ci: true })).toBe("plain");
    expect(chooseReporterKind({ json: false, isTTY: false })).toBe("plain");
  });

  it("fanOut keeps going when one reporter throws", () => {
    const mem = memoryReporter();
    const both = fanOut(
      {
        emit: () => {
          throw new Error("EPIPE");
        },
      },
      mem,
    );
    new ProgressEmitter(both, "r").log("info", "lock", "hello");
    expect(mem.events).toHaveLength(1);
  });
});
