// Prometheus health as checks: the server answers, the release's targets are scraped (`up`, and
// every Ready new pod when targets carry a `pod` label), and the request counters move. Queries
// select `namespace="<release namespace>"`, the label Prometheus Operator's Service/PodMonitors
// attach to every series.
import { isPodReady, newRevisionPods, readWorkload } from "../kube/index.js";
import { promString, type PrometheusClient } from "./prometheus.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

export function rateWindowSeconds(gates: VerifyContext["gates"]): number {
  return gates.rateWindowSeconds ?? Math.max(gates.intervalSeconds, 60);
}

export function prometheusChecks(ctx: VerifyContext, prom: PrometheusClient): Check[] {
  const ns = ctx.names.namespace;
  const ready: Check = {
    name: "prometheus:ready",
    async run(signal) {
      const m = await prom.ready(signal);
      const evidence = { url: `${prom.baseUrl}/-/ready`, ...(m.value !== undefined ? { status: m.value } : {}) };
      if (m.phase === "Successful") return { status: "pass", message: `Prometheus answers (${m.message})`, evidence };
      return { status: "fail", retryable: true, message: m.message ?? "Prometheus is not ready", evidence };
    },
  };

  const targets: Check = {
    name: "prometheus:targets",
    async run(signal) {
      const query = `up{namespace=${promString(ns)}}`;
      const m = await prom.query(query, { signal });
      const base = { url: prom.baseUrl, query };
      if (m.phase === "Error") return { status: "fail", retryable: true, message: m.message ?? "query failed", evidence: base };
      const series = m.value ?? [];
      const rows = series.map((s) => ({
        job: s.labels["job"] ?? "",
        instance: s.labels["instance"] ?? "",
        ...(s.labels["pod"] ? { pod: s.labels["pod"] } : {}),
        up: s.value,
      }));
      const evidence = { ...base, targets: rows };
      if (rows.length === 0)
        return { status: "fail", retryable: true, message: `no scrape target has namespace="${ns}": Prometheus does not scrape the release`, evidence };
      const down = rows.filter((r) => r.up !== 1);
      if (down.length > 0)
        return { status: "pending", message: `${down.length}/${rows.length} target(s) down: ${down.map((d) => d.pod ?? d.instance).join(", ")}`, evidence };
      // Per-pod targets: every Ready pod of the new revision must already be scraped.
      if (rows.some((r) => r.pod)) {
        const scraped = new Set(rows.map((r) => r.pod));
        const missing: string[] = [];
        for (const w of workloadsInScope(ctx)) {
          const obj = await readWorkload(ctx.kube.api, ns, w.kind, w.name);
          const { pods } = await newRevisionPods(ctx.kube.api, ns, obj, w.kind);
          for (const p of pods) if (isPodReady(p) && !scraped.has(p.metadata?.name)) missing.push(p.metadata?.name ?? "?");
        }
        if (missing.length > 0) return { status: "pending", message: `new pod(s) not scraped yet: ${missing.join(", ")}`, evidence: { ...evidence, missing } };
      }
      return { status: "pass", message: `${rows.length} target(s) up`, evidence };
    },
  };

  const traffic: Check = {
    name: "prometheus:traffic",
    async run(signal) {
      const range = rateWindowSeconds(ctx.gates);
      const query = `sum(increase(sie_gateway_requests_total{namespace=${promString(ns)}}[${range}s]))`;
      const m = await prom.scalar(query, { signal });
      const evidence = { url: prom.baseUrl, query, ...(m.value !== undefined ? { requests: m.value } : {}) };
      if (m.phase === "Error") return { status: "fail", retryable: true, message: m.message ?? "query failed", evidence };
      // An idle cluster is not broken, but its metric gates cannot judge anything: say so.
      if (!m.value || m.value <= 0)
        return { status: "warn", message: `sie_gateway_requests_total did not move in the last ${range}s: no traffic to judge`, evidence };
      return { status: "pass", message: `${Math.round(m.value)} request(s) counted in the last ${range}s`, evidence };
    },
  };
  return [ready, targets, traffic];
}
