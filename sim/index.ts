// Public surface of the SIE simulator (tests, CLI and the local Pulumi platform import from here).
export { startSimulator, writeKubeconfig, ENDPOINTS_FILE, KUBECONFIG_FILE } from "./simulator.js";
export type { Simulator, SimulatorOptions, SimulatorEndpoints } from "./simulator.js";
export { spawnSimulator, stopSimulator, runningSimulator } from "./spawn.js";
export type { SpawnOptions, SpawnedSimulator } from "./spawn.js";
export { FAULTS, FAULT_NAMES, ERRORS10_RATE, parseImage } from "../cluster/faults.js";
export type { FaultName, ParsedImage } from "../cluster/faults.js";
export { PROFILES, resolveTimings } from "./timing.js";
export type { ProfileName, SimTimings } from "./timing.js";
export { renderKubeconfig, SIM_CONTEXT } from "./kubeconfig.js";
export { PATCH_TYPES } from "./api/patch.js";
export { PAUSED, PAUSED_REPLICAS } from "./controllers/keda.js";
export { VERSION_HEADER } from "./sie/gateway.js";
export { DEFAULT_MODELS } from "../cluster/endpoints/models.js";
export type { ModelSpec } from "../cluster/endpoints/models.js";
export type { FaultRequest } from "./control.js";
export type { LoadOptions, LoadStatus } from "../cluster/endpoints/loadgen.js";
export { ObjectStore } from "./store.js";
export type { KObject } from "./store.js";
