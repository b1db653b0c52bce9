// sie-fleet:monitoring: one Prometheus for KEDA's triggers and the metric gates, named once.
import { describe, expect, it } from "vitest";
import { parseConfig, validateConfig } from "../../../infra/config/configParse.js";
import { buildReleaseValues, chartFullname } from "../../../infra/release/releaseValues.js";
import { buildScaledObjects } from "../../../infra/release/scaledObjects.js";
import { KUBE_PROMETHEUS_STACK, serviceOfUrl } from "../../../infra/release/prometheusTarget.js";
import { gkeRaw, localRaw, withValue, type Raw } from "./fixtures.js";

function problemsOf(raw: Raw) {
  const r = validateConfig(raw);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.problems.map((p) => `${p.key}: ${p.reason} (${p.hint ?? ""})`);
}

const withPrometheus = (raw: Raw, prometheus: unknown) => withValue(raw, "monitoring", { prometheus });
const serverAddresses = (raw: Raw) => {
  const cfg = parseConfig(raw);
  return [...new Set(buildScaledObjects(cfg, chartFullname(cfg)).flatMap((so) => so.spec.triggers.map((t) => t.metadata.serverAddress)))];
};

describe("monitoring.prometheus.install", () => {
  it("installs kube-prometheus-stack in monitoring, and KEDA queries its operated Service", () => {
    const cfg = parseConfig(gkeRaw());
    expect(cfg.monitoring.prometheus).toEqual({
      source: "install",
      inClusterUrl: "http://prometheus-operated.monitoring.svc.cluster.local:9090",
      service: { namespace: "monitoring", name: "prometheus-operated", port: 9090 },
    });
    expect(cfg.monitoring.install).toMatchObject({
      chart: "kube-prometheus-stack",
      repo: "https://prometheus-community.github.io/helm-charts",
      version: KUBE_PROMETHEUS_STACK.version,
      namespace: "monitoring",
    });
    expect(serverAddresses(gkeRaw())).toEqual(["http://prometheus-operated.monitoring.svc.cluster.local:9090"]);
    // No outside address known: the metric gates are skipped until one is given.
    expect(cfg.rollout.gates.prometheusUrl).toBeUndefined();
  });

  it("values: only operator + Prometheus by default, selecting every ServiceMonitor; user values merge between", () => {
    const cfg = parseConfig(withPrometheus(gkeRaw(), { install: true, storageSize: "50Gi", values: { grafana: { enabled: true } } }));
    const v = cfg.monitoring.install!.values as any;
    expect(v.grafana).toEqual({ enabled: true });
    expect(v.alertmanager).toEqual({ enabled: false });
    expect(v.prometheus.prometheusSpec).toEqual({
      storageSpec: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "50Gi" } } } } },
      serviceMonitorSelectorNilUsesHelmValues: false,
      podMonitorSelectorNilUsesHelmValues: false,
      ruleSelectorNilUsesHelmValues: false,
    });
  });

  it("turns on the sie-cluster chart's ServiceMonitor, which release.values may then not override", () => {
    expect((buildReleaseValues(parseConfig(gkeRaw())) as any).serviceMonitor).toEqual({ enabled: true });
    expect(problemsOf(withValue(gkeRaw(), "release.values", { serviceMonitor: { enabled: false } }))).toEqual([
      expect.stringMatching(/^sie-fleet:release\.values\.serviceMonitor\.enabled: is managed by sie-fleet.*monitoring\.prometheus\.install/),
    ]);
    // Without install the ServiceMonitor is the user's business (e.g. an operator they run).
    const own = withValue(withPrometheus(gkeRaw(), { service: "monitoring/prometheus-operated:9090" }), "release.values", {
      serviceMonitor: { enabled: true },
    });
    expect((buildReleaseValues(parseConfig(own)) as any).serviceMonitor).toEqual({ enabled: true });
    expect((buildReleaseValues(parseConfig(withPrometheus(gkeRaw(), { service: "monitoring/p:9090" }))) as any).serviceMonitor).toBeUndefined();
  });

  it("another namespace and version; the selectors sie-fleet sets cannot be overridden", () => {
    const cfg = parseConfig(withPrometheus(gkeRaw(), { install: true, namespace: "obs", version: "80.0.0" }));
    expect(cfg.monitoring.install).toMatchObject({ namespace: "obs", version: "80.0.0" });
    expect(cfg.monitoring.prometheus!.inClusterUrl).toBe("http://prometheus-operated.obs.svc.cluster.local:9090");
    const bad = withPrometheus(gkeRaw(), { install: true, values: { prometheus: { prometheusSpec: { serviceMonitorSelectorNilUsesHelmValues: true } } } });
    expect(problemsOf(bad)).toEqual([
      expect.stringMatching(
        /^sie-fleet:monitoring\.prometheus\.values\.prometheus\.prometheusSpec\.serviceMonitorSelectorNilUsesHelmValues: is managed by sie-fleet/,
      ),
    ]);
  });
});

describe("an existing Prometheus", () => {
  it("service: KEDA queries the Service; an outside gates URL is that Prometheus seen from sie-fleet", () => {
    let raw = withPrometheus(gkeRaw(), { service: "observability/prometheus-k8s:9091" });
    expect(serverAddresses(raw)).toEqual(["http://prometheus-k8s.observability.svc.cluster.local:9091"]);
    expect(parseConfig(raw).monitoring.install).toBeUndefined();
    raw = withValue(raw, "rollout.gates", { prometheusUrl: "http://127.0.0.1:9090" });
    const cfg = parseConfig(raw);
    expect(cfg.monitoring.prometheus).toMatchObject({ source: "service", externalUrl: "http://127.0.0.1:9090" });
    expect(cfg.rollout.gates.prometheusUrl).toBe("http://127.0.0.1:9090");
  });

  it("url: KEDA and the metric gates use the same address", () => {
    const cfg = parseConfig(withPrometheus(gkeRaw(), { url: "https://prom.example.com" }));
    expect(cfg.monitoring.prometheus).toEqual({ source: "url", inClusterUrl: "https://prom.example.com", externalUrl: "https://prom.example.com" });
    expect(cfg.rollout.gates.prometheusUrl).toBe("https://prom.example.com");
    expect(serverAddresses(withPrometheus(gkeRaw(), { url: "https://prom.example.com" }))).toEqual(["https://prom.example.com"]);
    // The same URL twice is no conflict.
    const same = withValue(withPrometheus(gkeRaw(), { url: "https://prom.example.com" }), "rollout.gates", { prometheusUrl: "https://prom.example.com/" });
    expect(parseConfig(same).rollout.gates.prometheusUrl).toBe("https://prom.example.com");
  });

  it("autoscaling.prometheusAddress alone still works, for KEDA only (the local stack's semantics)", () => {
    const cfg = parseConfig(localRaw());
    expect(cfg.monitoring.prometheus).toEqual({ source: "autoscaling.prometheusAddress", inClusterUrl: "http://127.0.0.1:9090" });
    expect(cfg.rollout.gates.prometheusUrl).toBeUndefined();
    expect(serverAddresses(localRaw())).toEqual(["http://127.0.0.1:9090"]);
    const inCluster = withValue(localRaw(), "autoscaling.prometheusAddress", "http://prometheus-operated.monitoring.svc:9090");
    expect(parseConfig(inCluster).monitoring.prometheus!.service).toEqual({ namespace: "monitoring", name: "prometheus-operated", port: 9090 });
    // Naming the same Prometheus both ways is redundant, not a conflict.
    const both = withValue(gkeRaw(), "autoscaling.prometheusAddress", "http://prometheus-operated.monitoring.svc.cluster.local:9090");
    expect(parseConfig(both).monitoring.prometheus!.source).toBe("install");
  });

  it("serviceOfUrl reads the Service out of cluster-local URLs only", () => {
    expect(serviceOfUrl("https://prom.obs.svc.cluster.local")).toEqual({ namespace: "obs", name: "prom", port: 443 });
    expect(serviceOfUrl("http://prom.obs.svc:80")).toEqual({ namespace: "obs", name: "prom", port: 80 });
    expect(serviceOfUrl("http://127.0.0.1:9090")).toBeUndefined();
    expect(serviceOfUrl("http://prom.example.com")).toBeUndefined();
  });
});

describe("monitoring rules", () => {
  it.each<[string, Raw, RegExp]>([
    [
      "autoscaling with no Prometheus at all",
      withValue(gkeRaw(), "monitoring", undefined),
      /^sie-fleet:autoscaling\.enabled: KEDA's triggers need a Prometheus, and the stack names none \(set monitoring\.prometheus\.install true/,
    ],
    [
      "prometheusAddress naming another Prometheus than monitoring",
      withValue(gkeRaw(), "autoscaling.prometheusAddress", "http://prometheus.other.svc:9090"),
      /^sie-fleet:autoscaling\.prometheusAddress: http:\/\/prometheus\.other\.svc:9090 conflicts with monitoring\.prometheus \(install\), which KEDA would query at http:\/\/prometheus-operated\.monitoring\.svc\.cluster\.local:9090 \(remove autoscaling\.prometheusAddress/,
    ],
    [
      "gates URL different from monitoring.prometheus.url",
      withValue(withPrometheus(gkeRaw(), { url: "https://prom.example.com" }), "rollout.gates", { prometheusUrl: "http://127.0.0.1:9090" }),
      /^sie-fleet:rollout\.gates\.prometheusUrl: http:\/\/127\.0\.0\.1:9090 conflicts with monitoring\.prometheus\.url https:\/\/prom\.example\.com/,
    ],
    [
      "install and service together",
      withPrometheus(gkeRaw(), { install: true, service: "monitoring/prometheus-operated:9090" }),
      /^sie-fleet:monitoring\.prometheus: names Prometheus 2 ways \(install, service\) \(keep one of install: true, service or url\)/,
    ],
    [
      "install-only key without install",
      withPrometheus(gkeRaw(), { url: "https://prom.example.com", namespace: "obs" }),
      /^sie-fleet:monitoring\.prometheus\.namespace: is only used with monitoring\.prometheus\.install: true/,
    ],
    [
      "service without a port",
      withPrometheus(gkeRaw(), { service: "monitoring/prometheus-operated" }),
      /^sie-fleet:monitoring\.prometheus\.service: must be <namespace>\/<service>:<port>/,
    ],
    [
      "service port out of range",
      withPrometheus(gkeRaw(), { service: "monitoring/prometheus:70000" }),
      /^sie-fleet:monitoring\.prometheus\.service: port 70000 is not a TCP port/,
    ],
    ["url that is no http URL", withPrometheus(gkeRaw(), { url: "prometheus:9090" }), /^sie-fleet:monitoring\.prometheus\.url: must be a valid url/],
    ["misspelt key", withPrometheus(gkeRaw(), { instal: true }), /^sie-fleet:monitoring\.prometheus\.instal: unknown key \(did you mean "install"\?/],
    [
      "storage size without a unit",
      withPrometheus(gkeRaw(), { install: true, storageSize: "50" }),
      /^sie-fleet:monitoring\.prometheus\.storageSize: must be a storage size/,
    ],
  ])("%s", (_what, raw, expected) => {
    expect(problemsOf(raw)).toContainEqual(expect.stringMatching(expected));
  });

  it("autoscaling off needs no Prometheus", () => {
    const cfg = parseConfig(withValue(withValue(gkeRaw(), "monitoring", undefined), "autoscaling", { enabled: false }));
    expect(cfg.monitoring).toEqual({});
  });
});
