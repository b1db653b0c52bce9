// Compile-time check that the engine's own values plug straight into the suite's entry points
// (StackContext: names, kube, rollout.gates), as README.md's entry points show.
import { describe, expect, it } from "vitest";
import type { StackContext } from "../../automation/actions/context.js";
import type { WaveSpec } from "../../core/types.js";
import { captureBaseline, runVerification } from "../../automation/verify/index.js";

function wave(sc: StackContext, spec: WaveSpec, to: string, signal?: AbortSignal) {
  return async () => {
    const baseline = await captureBaseline({
      http: sc.kube.http,
      gates: sc.config.rollout.gates,
      namespace: sc.names.namespace,
      pools: Object.keys(sc.names.statefulSets),
      ...(signal ? { signal } : {}),
    });
    return runVerification({
      phase: "wave",
      wave: spec,
      kube: sc.kube,
      names: sc.names,
      ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
      expectTag: to,
      gates: sc.config.rollout.gates,
      ...(baseline ? { baseline } : {}),
      ...(signal ? { signal } : {}),
    });
  };
}

describe("wiring", () => {
  it("type-checks against the engine's StackContext", () => {
    expect(typeof wave).toBe("function");
  });
});
