// The Prometheus server the local platform runs next to the simulator (sim/prometheus.ts) is also
// the tests' harness.
export * from "../../sim/prometheus.js";
