// The GPU kinds a pool may ask for: a leaf both the hardware table (gpuProfiles.ts) and the
// machine table (machineShapes.ts) build on, so neither has to import the other for it.
export const GPU_KINDS = ["l4", "a100-40gb", "a100-80gb", "cpu"] as const;
export type GpuKind = (typeof GPU_KINDS)[number];
