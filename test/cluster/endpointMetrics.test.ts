// The endpoint server's registry keeps the series of the namespaces in the cluster only: a
// release that is gone takes its series with it, so a long-lived cluster's scrapes stay as cheap
// as its live releases make them.
import { describe, expect, it } from "vitest";
import { EndpointMetrics } from "../../cluster/endpoints/metrics.js";

function metricsOf(live: string[]): EndpointMetrics {
  return new EndpointMetrics({ queueDepth: () => new Map(), pendingDemand: () => new Map(), workers: () => [], namespaces: () => live });
}

function traffic(m: EndpointMetrics, namespace: string, n: number): void {
  for (let i = 0; i < n; i++) {
    m.gatewayRequests.inc({ namespace, pool: "l4", status: "200", version: "0.3.1", model: "m", endpoint: "encode" });
    m.gatewayDuration.observe({ namespace, pool: "l4", version: "0.3.1" }, 0.02);
  }
}

describe("EndpointMetrics", () => {
  it("drops the series of a namespace once it is gone and keeps the others' counts", async () => {
    const live = ["a", "b"];
    const m = metricsOf(live);
    traffic(m, "a", 3);
    traffic(m, "b", 2);
    expect(await m.render()).toMatch(/sie_gateway_requests_total\{namespace="b",[^}]*\} 2/);

    live.splice(live.indexOf("b"), 1);
    const after = await m.render();
    expect(after).not.toContain('namespace="b"');
    expect(after).toMatch(/sie_gateway_requests_total\{namespace="a",[^}]*\} 3/);
    expect(after).toMatch(/sie_gateway_request_duration_seconds_count\{namespace="a",[^}]*\} 3/);
    expect(await m.renderNamespace("a")).toMatch(/sie_gateway_requests_total\{namespace="a",[^}]*\} 3/);

    // A namespace made again starts its counters anew, as a new release's gateway would.
    live.push("b");
    traffic(m, "b", 1);
    expect(await m.renderNamespace("b")).toMatch(/sie_gateway_requests_total\{namespace="b",[^}]*\} 1/);
  });
});
