import type { ObjectStore } from "./store.js";
import type { SimTimings } from "./timing.js";
import type { EventRecorder } from "./controllers/events.js";
import type { FaultName } from "../cluster/faults.js";

/** Faults switched on at run time through `POST /sim/faults` (image-tag faults need no switch). */
export interface RuntimeFaults {
  /** The metrics source KEDA reads is down: ScaledObjects with a fallback go Fallback=True. */
  metricsDown: boolean;
  /** Per-pod forced fault, keyed by pod uid, so a recreated pod comes back healthy. */
  pods: Map<string, FaultName>;
}

/** Shared by every controller and HTTP handler of one simulator instance. */
export interface SimContext {
  store: ObjectStore;
  timings: SimTimings;
  events: EventRecorder;
  faults: RuntimeFaults;
  now(): number;
  /** Per-pool queue depth (in-flight encodes), fed by the gateway, read by KEDA and /metrics. */
  queueDepth: Map<string, number>;
}
