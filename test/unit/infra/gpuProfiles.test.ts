import { describe, expect, it } from "vitest";
import {
  GPU_KINDS,
  GPU_PROFILES,
  cloudTaint,
  nodeLabels,
  nodeTaints,
  resolveHardware,
  tolerationsFor,
  type GpuKind,
} from "../../../infra/hardware/gpuProfiles.js";

// Written out by hand so that a change to the table has to be a deliberate change here too.
const EXPECTED: Record<GpuKind, { gke: [string, string | undefined, number]; eks: [string, string, number]; tainted: boolean }> = {
  l4: { gke: ["g2-standard-8", "nvidia-l4", 1], eks: ["g6.2xlarge", "AL2023_x86_64_NVIDIA", 1], tainted: true },
  "a100-40gb": { gke: ["a2-highgpu-1g", "nvidia-tesla-a100", 1], eks: ["p4d.24xlarge", "AL2023_x86_64_NVIDIA", 8], tainted: true },
  "a100-80gb": { gke: ["a2-ultragpu-1g", "nvidia-a100-80gb", 1], eks: ["p4de.24xlarge", "AL2023_x86_64_NVIDIA", 8], tainted: true },
  cpu: { gke: ["n2-standard-8", undefined, 0], eks: ["m6i.2xlarge", "AL2023_x86_64_STANDARD", 0], tainted: false },
};

describe("GPU profiles", () => {
  it.each(GPU_KINDS)("%s: default GKE machine, accelerator and GPU count", (kind) => {
    const r = resolveHardware("gke", { gpu: kind });
    const [machineType, acceleratorType, gpusPerNode] = EXPECTED[kind].gke;
    expect(r).toEqual({ ok: true, value: { target: "gke", machineType, gpusPerNode, ...(acceleratorType ? { acceleratorType } : {}) } });
  });

  it.each(GPU_KINDS)("%s: default EKS instance, AMI and GPU count", (kind) => {
    const [instanceType, amiType, gpusPerNode] = EXPECTED[kind].eks;
    expect(resolveHardware("eks", { gpu: kind })).toEqual({ ok: true, value: { target: "eks", instanceType, amiType, gpusPerNode } });
  });

  it.each(GPU_KINDS)("%s: node labels and taints", (kind) => {
    expect(nodeLabels("pool-a", kind)).toEqual({ "sie-fleet/gpu": kind, "sie-fleet/pool": "pool-a" });
    const taints = nodeTaints(kind);
    if (EXPECTED[kind].tainted) {
      expect(taints).toEqual([{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
      expect(taints.map(cloudTaint)).toEqual([{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }]);
      expect(tolerationsFor(taints)).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    } else {
      expect(taints).toEqual([]);
    }
  });

  it("chart gpuType and machine profile follow the SIE names", () => {
    expect(GPU_KINDS.map((k) => [GPU_PROFILES[k].chartGpuType, GPU_PROFILES[k].machineProfile])).toEqual([
      ["l4", "l4"],
      ["a100-40gb", "a100-40gb"],
      ["a100-80gb", "a100-80gb"],
      ["cpu", "cpu"],
    ]);
  });

  it("gpusPerNode picks the machine with that many GPUs", () => {
    const machine = (target: "gke" | "eks", gpu: GpuKind, gpusPerNode: number) => {
      const r = resolveHardware(target, { gpu, gpusPerNode });
      return r.ok ? (r.value.machineType ?? r.value.instanceType) : r.problem.message;
    };
    expect(machine("gke", "l4", 4)).toBe("g2-standard-48");
    expect(machine("gke", "l4", 8)).toBe("g2-standard-96");
    expect(machine("gke", "a100-40gb", 16)).toBe("a2-megagpu-16g");
    expect(machine("gke", "a100-80gb", 8)).toBe("a2-ultragpu-8g");
    expect(machine("eks", "l4", 4)).toBe("g6.12xlarge");
    expect(machine("eks", "l4", 8)).toBe("g6.48xlarge");
  });

  it("an explicit machine type sets the GPU count", () => {
    expect(resolveHardware("gke", { gpu: "l4", machineType: "g2-standard-24" })).toMatchObject({
      ok: true,
      value: { gpusPerNode: 2, acceleratorType: "nvidia-l4" },
    });
    expect(resolveHardware("eks", { gpu: "l4", instanceType: "g6.xlarge" })).toMatchObject({ ok: true, value: { gpusPerNode: 1 } });
    expect(resolveHardware("gke", { gpu: "cpu", machineType: "e2-standard-4" })).toMatchObject({
      ok: true,
      value: { machineType: "e2-standard-4", gpusPerNode: 0 },
    });
  });

  it("rejects combinations that do not exist", () => {
    const problem = (r: ReturnType<typeof resolveHardware>) => (r.ok ? undefined : r.problem);
    expect(problem(resolveHardware("gke", { gpu: "a100-40gb", machineType: "g2-standard-8" }))).toMatchObject({
      field: "machineType",
      message: expect.stringMatching(/carries l4 GPUs/),
    });
    expect(problem(resolveHardware("eks", { gpu: "a100-80gb", instanceType: "p4d.24xlarge" }))).toMatchObject({
      field: "instanceType",
      message: expect.stringMatching(/carries a100-40gb GPUs, not a100-80gb/),
    });
    expect(problem(resolveHardware("gke", { gpu: "l4", machineType: "n1-standard-8" }))).toMatchObject({
      field: "machineType",
      message: expect.stringMatching(/not a known l4 machine/),
    });
    expect(problem(resolveHardware("gke", { gpu: "a100-80gb", gpusPerNode: 16 }))).toMatchObject({ field: "gpusPerNode" });
    expect(problem(resolveHardware("eks", { gpu: "l4", gpusPerNode: 2 }))).toMatchObject({ field: "gpusPerNode" });
    expect(problem(resolveHardware("gke", { gpu: "cpu", machineType: "a2-highgpu-1g" }))).toMatchObject({
      field: "machineType",
      message: expect.stringMatching(/GPU machine/),
    });
    expect(problem(resolveHardware("eks", { gpu: "cpu", gpusPerNode: 1 }))).toMatchObject({ field: "gpusPerNode" });
    expect(problem(resolveHardware("generic", { gpu: "l4", machineType: "g2-standard-8" }))).toMatchObject({ field: "machineType" });
  });
});
