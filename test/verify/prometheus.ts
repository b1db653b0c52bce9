// The real Prometheus the embedded cluster's metrics are scraped by (cluster/prometheus.ts) is
// also the tests' harness.
export * from "../../cluster/prometheus.js";
