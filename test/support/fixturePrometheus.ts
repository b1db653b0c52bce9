// A real Prometheus of a test file's own, scraping the lane cluster's endpoint server (every
// namespace's series, each labelled with its namespace: honor_labels keeps them), with the
// fixture's namespace as the target label so `up{namespace}` exists for it too.
import { startPrometheus, waitForSeries, type PrometheusServer } from "../../cluster/prometheus.js";
import type { StackFixture } from "./stackFixture.js";

export { prometheusUnavailable, type PrometheusServer } from "../../cluster/prometheus.js";

/** Started once the fixture's release serves; its series for the namespace are there when this resolves. */
export async function fixturePrometheus(fx: StackFixture): Promise<PrometheusServer> {
  const prom = await startPrometheus({
    metricsUrl: fx.cluster.metricsUrl ?? `${fx.endpoints.url}/metrics`,
    labels: { namespace: fx.namespace },
    honorLabels: true,
  });
  try {
    await waitForSeries(prom.url, `sie_gateway_workers{namespace="${fx.namespace}"}`, 30_000);
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return prom;
}
