// The one Prometheus a stack reads: KEDA's triggers query it from inside the cluster, the metric
// gates from where sie-fleet runs. Both addresses are derived here from sie-fleet:monitoring (or,
// for older stacks, autoscaling.prometheusAddress), so they cannot name two different servers.
// Pure (no @pulumi imports): config validation resolves it.
import type { Report } from "../config/configReport.js";
import { PROMETHEUS_SERVICE_PATTERN, type AutoscalingConfig, type MonitoringInput } from "../config/configSchema.js";
import type { MonitoringConfig, PrometheusInstall, PrometheusService, PrometheusTarget } from "../config/configTypes.js";
import { deepMerge, overlappingPaths, type Values } from "./releaseValues.js";

/** kube-prometheus-stack: the Prometheus Operator and one Prometheus, from prometheus-community. */
export const KUBE_PROMETHEUS_STACK = {
  chart: "kube-prometheus-stack",
  repo: "https://prometheus-community.github.io/helm-charts",
  version: "88.5.3",
} as const;
export const DEFAULT_MONITORING_NAMESPACE = "monitoring";
/** The operator gives every namespace with a Prometheus this headless Service on the web port. */
const OPERATED_SERVICE = { name: "prometheus-operated", port: 9090 } as const;

export function serviceUrl(s: PrometheusService): string {
  return `http://${s.name}.${s.namespace}.svc.cluster.local:${s.port}`;
}

/** The Service behind an in-cluster URL (`http://<name>.<namespace>.svc[.cluster.local][:port]`), if it is one. */
export function serviceOfUrl(url: string): PrometheusService | undefined {
  const u = new URL(url);
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(u.hostname);
  if (!m) return undefined;
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { name: m[1]!, namespace: m[2]!, port };
}

/**
 * Values for kube-prometheus-stack. Only the operator and Prometheus by default: alerting,
 * dashboards, node and cluster-component scraping are not what KEDA and the gates need (users may
 * turn them back on), and managed control planes expose no etcd or scheduler metrics anyway.
 */
function installDefaults(storageSize: string | undefined): Values {
  return {
    alertmanager: { enabled: false },
    grafana: { enabled: false },
    nodeExporter: { enabled: false },
    kubeStateMetrics: { enabled: false },
    defaultRules: { create: false },
    kubernetesServiceMonitors: { enabled: false },
    prometheus: {
      prometheusSpec: storageSize
        ? { storageSpec: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: storageSize } } } } } }
        : {},
    },
  };
}

/**
 * What sie-fleet owns: Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule,
 * not only those labelled for this Helm release, so the sie-cluster chart's ServiceMonitor is
 * scraped without extra labels.
 */
export const MANAGED_PROMETHEUS_VALUES: Values = {
  prometheus: {
    prometheusSpec: {
      serviceMonitorSelectorNilUsesHelmValues: false,
      podMonitorSelectorNilUsesHelmValues: false,
      ruleSelectorNilUsesHelmValues: false,
    },
  },
};

const INSTALL_ONLY = ["version", "namespace", "storageSize", "values"] as const;
const HINT_NAME_ONE =
  "set monitoring.prometheus.install true (kube-prometheus-stack in this stack), or name an existing one with monitoring.prometheus.service <namespace>/<service>:<port> or monitoring.prometheus.url";

export interface MonitoringInputs {
  monitoring: MonitoringInput;
  autoscaling: AutoscalingConfig;
  /** rollout.gates.prometheusUrl as configured. */
  gatesUrl: string | undefined;
}

/**
 * Resolves the Prometheus and checks the keys that name it against each other. Returns the
 * monitoring config and the URL the metric gates use (which becomes rollout.gates.prometheusUrl).
 */
export function resolveMonitoring(inp: MonitoringInputs, report: Report): { monitoring: MonitoringConfig; gatesUrl: string | undefined } {
  const p = inp.monitoring.prometheus;
  const at = (key: string) => ["monitoring", "prometheus", key];
  const named = p
    ? [p.install ? "install" : undefined, p.service !== undefined ? "service" : undefined, p.url !== undefined ? "url" : undefined].filter((k) => k)
    : [];
  if (named.length > 1) {
    report(["monitoring", "prometheus"], `names Prometheus ${named.length} ways (${named.join(", ")})`, "keep one of install: true, service or url");
  }
  if (p && !p.install) {
    for (const key of INSTALL_ONLY) {
      if (p[key] !== undefined) report(at(key), "is only used with monitoring.prometheus.install: true", `remove ${key}, or set install: true`);
    }
  }

  let target: PrometheusTarget | undefined;
  let install: PrometheusInstall | undefined;
  if (p?.install) {
    const namespace = p.namespace ?? DEFAULT_MONITORING_NAMESPACE;
    const service = { namespace, ...OPERATED_SERVICE };
    target = { source: "install", inClusterUrl: serviceUrl(service), service };
    const user = p.values ?? {};
    for (const path of overlappingPaths(user, MANAGED_PROMETHEUS_VALUES)) {
      report(
        [...at("values"), ...path],
        "is managed by sie-fleet and cannot be overridden",
        "Prometheus must select the sie-cluster chart's ServiceMonitor; remove it",
      );
    }
    install = {
      chart: KUBE_PROMETHEUS_STACK.chart,
      repo: KUBE_PROMETHEUS_STACK.repo,
      version: p.version ?? KUBE_PROMETHEUS_STACK.version,
      namespace,
      values: deepMerge(deepMerge(installDefaults(p.storageSize), user), MANAGED_PROMETHEUS_VALUES),
    };
  } else if (p?.service !== undefined) {
    const m = PROMETHEUS_SERVICE_PATTERN.exec(p.service)!;
    const port = Number(m[5]);
    if (port < 1 || port > 65535) report(at("service"), `port ${port} is not a TCP port (1-65535)`);
    const service = { namespace: m[1]!, name: m[3]!, port };
    target = { source: "service", inClusterUrl: serviceUrl(service), service };
  } else if (p?.url !== undefined) {
    const service = serviceOfUrl(p.url);
    target = { source: "url", inClusterUrl: p.url, ...(service ? { service } : {}), externalUrl: p.url };
  }

  const legacy = inp.autoscaling.prometheusAddress;
  if (legacy !== undefined) {
    if (!target) {
      const service = serviceOfUrl(legacy);
      target = { source: "autoscaling.prometheusAddress", inClusterUrl: legacy, ...(service ? { service } : {}) };
    } else if (!sameUrl(legacy, target.inClusterUrl)) {
      report(
        ["autoscaling", "prometheusAddress"],
        `${legacy} conflicts with monitoring.prometheus (${target.source}), which KEDA would query at ${target.inClusterUrl}`,
        "remove autoscaling.prometheusAddress: monitoring.prometheus names the Prometheus for KEDA and the metric gates",
      );
    }
  }

  let gatesUrl = inp.gatesUrl;
  if (target?.source === "url") {
    if (gatesUrl !== undefined && !sameUrl(gatesUrl, target.externalUrl!)) {
      report(
        ["rollout", "gates", "prometheusUrl"],
        `${gatesUrl} conflicts with monitoring.prometheus.url ${target.externalUrl}`,
        "remove rollout.gates.prometheusUrl: the gates use monitoring.prometheus.url",
      );
    }
    gatesUrl = target.externalUrl;
  } else if (target && gatesUrl !== undefined) {
    // The same Prometheus as seen from outside the cluster (a port-forward, an ingress).
    target = { ...target, externalUrl: gatesUrl };
  }

  if (inp.autoscaling.enabled && !target) {
    report(["autoscaling", "enabled"], "KEDA's triggers need a Prometheus, and the stack names none", HINT_NAME_ONE);
  }
  return { monitoring: { ...(target ? { prometheus: target } : {}), ...(install ? { install } : {}) }, gatesUrl };
}

function sameUrl(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\/+$/, "");
  return norm(a) === norm(b);
}
