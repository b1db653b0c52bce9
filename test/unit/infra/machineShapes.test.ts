// The machine table and the platforms' reservation formulas, against worked examples.
import { describe, expect, it } from "vitest";
import { GPU_KINDS, GPU_PROFILES, isGpuKind } from "../../../infra/hardware/gpuProfiles.js";
import {
  MACHINE_SHAPES,
  NODE_DAEMONS,
  allocatable,
  eksEniMaxPods,
  eksReservedMemoryMiB,
  gkeReservedMemoryMiB,
  machineShape,
  reservedCpu,
  workerRoom,
  type Cloud,
} from "../../../infra/hardware/machineShapes.js";

const shape = (cloud: Cloud, type: string) => {
  const s = machineShape(cloud, type);
  if (!s) throw new Error(`${type} is not in the table`);
  return s;
};

describe("machine table", () => {
  it("lists every GPU machine of gpuProfiles and the usual CPU machines", () => {
    const gke = [
      ...["4", "8", "12", "16", "24", "32", "48", "96"].map((n) => `g2-standard-${n}`),
      ...["1g", "2g", "4g", "8g"].flatMap((n) => [`a2-highgpu-${n}`, `a2-ultragpu-${n}`]),
      "a2-megagpu-16g",
      ...["2", "4", "8", "16", "32"].map((n) => `n2-standard-${n}`),
      "e2-standard-4",
      "e2-standard-8",
    ];
    const eks = [
      ...["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"].map((n) => `g6.${n}`),
      "p4d.24xlarge",
      "p4de.24xlarge",
      ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge"].map((n) => `m6i.${n}`),
      "m5.xlarge",
      "m5.2xlarge",
      "c6i.2xlarge",
    ];
    expect(Object.keys(MACHINE_SHAPES.gke).sort()).toEqual(gke.sort());
    expect(Object.keys(MACHINE_SHAPES.eks).sort()).toEqual(eks.sort());
  });

  it("has the sizes the cloud pages give", () => {
    const size = (cloud: Cloud, type: string) => {
      const s = shape(cloud, type);
      return [s.vcpu, s.memoryGiB, s.gpu?.count ?? 0];
    };
    expect(size("gke", "g2-standard-8")).toEqual([8, 32, 1]);
    expect(size("gke", "a2-highgpu-1g")).toEqual([12, 85, 1]);
    expect(size("gke", "a2-ultragpu-1g")).toEqual([12, 170, 1]);
    expect(size("gke", "a2-megagpu-16g")).toEqual([96, 1360, 16]);
    expect(size("eks", "g6.2xlarge")).toEqual([8, 32, 1]);
    expect(size("eks", "p4d.24xlarge")).toEqual([96, 1152, 8]);
    expect(size("eks", "c6i.2xlarge")).toEqual([8, 16, 0]);
  });

  // gpuProfiles.ts takes its machine lists from the table; its defaults are written by hand.
  it.each(GPU_KINDS)("%s: gpuProfiles' machines and defaults agree with the table", (kind) => {
    for (const cloud of ["gke", "eks"] as const) {
      const table = GPU_PROFILES[kind][cloud];
      for (const [type, count] of Object.entries(table.types ?? {})) {
        expect(shape(cloud, type).gpu, `${cloud} ${type}`).toEqual({ kind, count });
      }
      for (const [count, type] of Object.entries(table.defaults)) {
        const s = shape(cloud, type);
        expect(s.gpu?.count ?? 0, `${cloud} default ${type}`).toBe(Number(count));
        if (isGpuKind(kind)) expect(s.gpu?.kind).toBe(kind);
      }
    }
  });
});

describe("reservations", () => {
  it("CPU: 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4", () => {
    // GKE's plan-node-sizes page shows a 4-vCPU node with `allocatable: cpu: 3920m`.
    expect(4 - reservedCpu(4)).toBeCloseTo(3.92, 10);
    expect(reservedCpu(1)).toBeCloseTo(0.06, 10);
    expect(reservedCpu(2)).toBeCloseTo(0.07, 10);
    expect(reservedCpu(16)).toBeCloseTo(0.11, 10);
    expect(reservedCpu(96)).toBeCloseTo(0.31, 10);
  });

  it("GKE memory: the tiers plus the 100 MiB eviction threshold", () => {
    expect(gkeReservedMemoryMiB(0.6)).toBe(255);
    // 25% of 4 GiB + 20% of 4 + 10% of 8 = 2.6 GiB for a 16 GiB machine.
    expect(gkeReservedMemoryMiB(16)).toBeCloseTo(2.6 * 1024, 6);
    // Published worked examples of these tiers, eviction threshold included (rounded up to MiB):
    // 8 GiB → 1944Mi, 16 → 2763Mi, 128 → 9644Mi, 256 → 12266Mi; and 150 GiB → 9.8577 GiB reserved.
    for (const [gib, mib] of [
      [8, 1944],
      [16, 2763],
      [128, 9644],
      [256, 12266],
    ] as const) {
      expect(Math.ceil(gkeReservedMemoryMiB(gib) + 100), `${gib} GiB`).toBe(mib);
    }
    expect((gkeReservedMemoryMiB(150) + 100) / 1024).toBeCloseTo(9.8577, 4);
  });

  it("EKS: max pods from the ENI formula, memory 255 MiB + 11 MiB per pod", () => {
    // The EKS user guide's max-pods-calculator example: m5.large (3 ENIs × 10 IPv4) → 29.
    expect(eksEniMaxPods({ interfaces: 3, ipv4PerInterface: 10 })).toBe(29);
    expect(eksEniMaxPods(shape("eks", "m6i.large").eni!)).toBe(29);
    expect(eksEniMaxPods(shape("eks", "g6.xlarge").eni!)).toBe(58);
    expect(eksEniMaxPods(shape("eks", "g6.12xlarge").eni!)).toBe(234);
    expect(eksEniMaxPods(shape("eks", "p4d.24xlarge").eni!)).toBe(737);
    expect(eksReservedMemoryMiB(29)).toBe(574);
    expect(eksReservedMemoryMiB(737)).toBe(8362);
  });

  it("allocatable and the room left for workers", () => {
    const g2 = allocatable("gke", shape("gke", "g2-standard-4"));
    expect(g2.cpu).toBeCloseTo(3.92, 10);
    expect(g2.memoryGiB).toBeCloseTo(16 - (2.6 * 1024 + 100) / 1024, 10);
    expect(g2.pods).toBe(110);

    const g6 = allocatable("eks", shape("eks", "g6.xlarge"));
    expect(g6.cpu).toBeCloseTo(3.92, 10);
    expect(g6.memoryGiB).toBeCloseTo(16 - (255 + 11 * 58 + 100) / 1024, 10);
    expect(g6.pods).toBe(58);
    // Managed node groups cap max pods at 250 from 30 vCPUs; the reservation still uses 737.
    const p4d = allocatable("eks", shape("eks", "p4d.24xlarge"));
    expect(p4d.pods).toBe(250);
    expect(p4d.memoryGiB).toBeCloseTo(1152 - (8362 + 100) / 1024, 10);

    const room = workerRoom("gke", shape("gke", "g2-standard-4"));
    expect(room.cpu).toBeCloseTo(g2.cpu - NODE_DAEMONS.cpu, 10);
    expect(room.memoryGiB).toBeCloseTo(g2.memoryGiB - NODE_DAEMONS.memoryGiB, 10);
  });
});
