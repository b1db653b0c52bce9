// What test and benchmark stacks change in the repository's local stack before anything else.
// The local stack names the embedded cluster's own Prometheus (sie-fleet:monitoring), so its
// upgrades run the metric gates and wait out their observation windows in every pool wave. Test
// and benchmark stacks leave it out, as they did before that Prometheus existed: their gates have
// a Prometheus only when one asks for it (SIE_FLEET_PROMETHEUS_URL, or `monitoring` kept).

/** The `config:` map of a stack file, as parsed YAML. */
export type StackConfigMap = Record<string, any>;

/**
 * KEDA's triggers still need an address while autoscaling is on; no KEDA operator reads it on the
 * lane cluster, and as it is not an in-cluster Service address the gates do not reach for it.
 */
export const KEDA_ONLY_PROMETHEUS = "http://127.0.0.1:9090";

/** The local stack's config without the cluster's Prometheus: KEDA gets KEDA_ONLY_PROMETHEUS, the gates none. */
export function withoutClusterPrometheus(c: StackConfigMap): void {
  delete c["sie-fleet:monitoring"];
  c["sie-fleet:autoscaling"] = { ...c["sie-fleet:autoscaling"], prometheusAddress: KEDA_ONLY_PROMETHEUS };
}
