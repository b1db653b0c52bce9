// Does a pool's worker fit the machine it runs on? Its requests against what a node leaves for
// workers (hardware/machineShapes.ts), how many workers one node holds against how many its GPUs
// allow, and its memory limit against the node. Only for the nodes sie-fleet creates (gke, eks);
// resolvePool (configRules.ts) calls it for pools that run workers.
import type { IssuePath, Report } from "./configReport.js";
import type { GpuKind } from "../hardware/gpuProfiles.js";
import {
  MACHINE_SHAPES,
  NODE_DAEMONS,
  allocatable,
  cpuMachineTypes,
  gpuMachineTypes,
  machineShape,
  workerRoom,
  type Cloud,
  type MachineShape,
} from "../hardware/machineShapes.js";
import { QUANTITY_HINT, bytesToGiB, quantityValue } from "../hardware/quantity.js";

export interface WorkerFitInput {
  pool: string;
  gpu: GpuKind;
  cloud: Cloud;
  /** The resolved machine/instance type. */
  type: string;
  gpusPerNode: number;
  gpusPerWorker: number;
  /** Workers one node's GPUs make room for (1 for cpu pools). */
  workersByGpu: number;
  /** Worker requests and limits after defaults. */
  requests: Readonly<Record<string, string>>;
  limits: Readonly<Record<string, string>>;
  /** The limits the pool sets itself; the others are the chart's defaults for its GPU kind. */
  configuredLimits: Readonly<Record<string, string>>;
}

export interface WorkerFit {
  /** Limits to render: a default memory limit above what the node leaves for workers is lowered to it. */
  limits: Record<string, string>;
}

const PLATFORM_NAME: Record<Cloud, string> = { gke: "GKE", eks: "EKS" };

function cores(n: number): string {
  return String(Math.floor(n * 100) / 100);
}

function gib(n: number): string {
  return (Math.floor(n * 10) / 10).toFixed(1);
}

/** "3.42 CPU / 12.3 GiB for workers (3.92 CPU / 13.3 GiB allocatable after GKE's reservations, less …)". */
function roomText(cloud: Cloud, shape: MachineShape): string {
  const room = workerRoom(cloud, shape);
  const a = allocatable(cloud, shape);
  return (
    `${cores(room.cpu)} CPU / ${gib(room.memoryGiB)} GiB for workers (${cores(a.cpu)} CPU / ${gib(a.memoryGiB)} GiB allocatable after ` +
    `${PLATFORM_NAME[cloud]}'s reservations, less ${NODE_DAEMONS.cpu} CPU / ${NODE_DAEMONS.memoryGiB} GiB for node daemons)`
  );
}

/** Workers of `cpu` cores and `memoryGiB` each that fit in what a node of this shape leaves for workers. */
function workersThatFit(cloud: Cloud, shape: MachineShape, cpu: number, memoryGiB: number): { cpu: number; memory: number } {
  const room = workerRoom(cloud, shape);
  const per = (have: number, need: number) => (need > 0 ? Math.floor(have / need) : Number.POSITIVE_INFINITY);
  return { cpu: per(room.cpu, cpu), memory: per(room.memoryGiB, memoryGiB) };
}

/** The smallest listed type with the same GPUs per node whose node holds all the workers its GPUs allow. */
function smallestFitting(input: WorkerFitInput, cpu: number, memoryGiB: number): string | undefined {
  const candidates = Object.entries(MACHINE_SHAPES[input.cloud])
    .filter(([, s]) => (input.gpu === "cpu" ? s.gpu === undefined : s.gpu?.kind === input.gpu && s.gpu.count === input.gpusPerNode))
    .filter(([, s]) => {
      const fit = workersThatFit(input.cloud, s, cpu, memoryGiB);
      return Math.min(fit.cpu, fit.memory) >= input.workersByGpu;
    })
    .sort(([, a], [, b]) => a.vcpu - b.vcpu || a.memoryGiB - b.memoryGiB);
  return candidates[0]?.[0];
}

/**
 * Reports every way the pool's workers do not fit its machine and returns the limits to render.
 * CPU limits are not compared with the node: CPU is throttled, not exhausted, so a limit above what
 * the node has only means the worker is never capped below it (the chart's L4 limit of 8 CPU on an
 * 8-vCPU machine is such a case).
 */
export function checkWorkerFit(input: WorkerFitInput, report: Report): WorkerFit | undefined {
  const { pool, cloud, type } = input;
  const typeField = cloud === "gke" ? "machineType" : "instanceType";
  const at = (...path: string[]): IssuePath => ["pools", pool, ...path];
  const shape = machineShape(cloud, type);
  if (!shape) {
    // GPU types never get here (resolveHardware accepts only listed ones); cpu types are free-form.
    const listed = input.gpu === "cpu" ? cpuMachineTypes(cloud) : Object.keys(gpuMachineTypes(cloud, input.gpu));
    report(
      at(typeField),
      `${type} is not in sie-fleet's machine table (infra/hardware/machineShapes.ts), so whether a ${input.gpu} worker fits its nodes cannot be checked`,
      `use one of ${listed.join(", ")}, or set pools.${pool}.maxReplicas: 0 if the pool runs no workers`,
    );
    return undefined;
  }

  let unreadable = false;
  const read = (kind: "requests" | "limits", resource: "cpu" | "memory"): number | undefined => {
    const text = input[kind][resource];
    if (text === undefined) return undefined;
    const value = quantityValue(text);
    if (value === undefined || value < 0) {
      unreadable = true;
      report(at("resources", kind, resource), `${JSON.stringify(text)} is not a Kubernetes quantity`, QUANTITY_HINT);
    }
    return value;
  };
  const reqCpu = read("requests", "cpu") ?? 0;
  const reqMemBytes = read("requests", "memory") ?? 0;
  const limCpu = read("limits", "cpu");
  const limMemBytes = read("limits", "memory");
  if (unreadable) return undefined;

  let ok = true;
  for (const [resource, req, lim] of [
    ["cpu", reqCpu, limCpu],
    ["memory", reqMemBytes, limMemBytes],
  ] as const) {
    if (lim !== undefined && req > lim) {
      ok = false;
      const limText = input.limits[resource];
      const whose = input.configuredLimits[resource] === undefined ? ` (the chart's default for ${input.gpu})` : "";
      report(
        at("resources", "requests", resource),
        `${input.requests[resource]} is above limits.${resource} ${limText}${whose}; Kubernetes refuses a pod that requests more than its limit`,
        `raise pools.${pool}.resources.limits.${resource} or lower the request`,
      );
    }
  }

  const reqMem = bytesToGiB(reqMemBytes);
  const room = workerRoom(cloud, shape);
  const fit = workersThatFit(cloud, shape, reqCpu, reqMem);
  const fits = Math.min(fit.cpu, fit.memory);
  const article = input.gpu === "cpu" ? "a" : "an";
  if (fits < 1) {
    ok = false;
    const bigger = smallestFitting(input, reqCpu, reqMem);
    report(
      at(typeField),
      `${type} leaves ${roomText(cloud, shape)}; ${article} ${input.gpu} worker requests ${input.requests.cpu} CPU / ${input.requests.memory}`,
      `${bigger ? `pick ${bigger} or larger, or ` : ""}lower pools.${pool}.resources.requests`,
    );
  } else if (fits < input.workersByGpu) {
    ok = false;
    const n = input.workersByGpu;
    const idle = input.gpusPerNode - fits * input.gpusPerWorker;
    const lower: string[] = [];
    if (fit.cpu < n) lower.push(`requests.cpu to at most ${cores(room.cpu / n)}`);
    if (fit.memory < n) lower.push(`requests.memory to at most ${Math.floor(room.memoryGiB / n)}Gi`);
    report(
      at(typeField),
      `${type} leaves ${roomText(cloud, shape)}; its ${input.gpusPerNode} GPUs make room for ${n} workers of ${input.gpusPerWorker} GPU(s), ` +
        `which request ${cores(n * reqCpu)} CPU / ${gib(n * reqMem)} GiB together, so only ${fits} fit and ${idle} GPU(s) would stay idle`,
      `lower pools.${pool}.resources.${lower.join(" and ")}, raise pools.${pool}.gpusPerWorker, or pick a machine with fewer GPUs`,
    );
  }

  const limits = { ...input.limits };
  if (limMemBytes !== undefined && bytesToGiB(limMemBytes) > room.memoryGiB) {
    if (input.configuredLimits.memory !== undefined) {
      ok = false;
      report(
        at("resources", "limits", "memory"),
        `${input.limits.memory} is above what one ${type} node leaves: ${roomText(cloud, shape)}; the node would run out of memory before the worker reached its limit`,
        `lower it to at most ${Math.floor(room.memoryGiB)}Gi, or pick a larger ${typeField}`,
      );
    } else {
      // The chart sizes its default limits for whole machines; on this one the worker may use what
      // the node leaves for workers (in whole GiB), never less than it requests.
      const roomGiB = Math.floor(room.memoryGiB);
      limits.memory = roomGiB >= reqMem ? `${roomGiB}Gi` : (input.requests.memory ?? `${roomGiB}Gi`);
    }
  }
  return ok ? { limits } : undefined;
}
