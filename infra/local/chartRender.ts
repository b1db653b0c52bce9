// Renders the objects the sie-cluster chart would install for a set of Helm values, so the
// local platform deploys the same names, labels, images and probes as a real cluster. Only the
// parts the upgrade engine and the simulator look at are rendered (no PDBs, prepull DaemonSets).
type Values = Record<string, unknown>;
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

const DEFAULT_REPOS = {
  gateway: "ghcr.io/superlinked/sie-gateway",
  config: "ghcr.io/superlinked/sie-config",
  worker: "ghcr.io/superlinked/sie-server",
} as const;

export interface RenderNames {
  namespace: string;
  releaseName: string;
  fullname: string;
  /** Used when a component's tag is empty, as the chart falls back to .Chart.AppVersion. */
  appVersion: string;
}

function obj(v: unknown): Values {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Values) : {};
}
function str(v: unknown, fallback: string): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}
function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function image(component: Values, defaultRepo: string, appVersion: string): string {
  const img = obj(component.image);
  return `${str(img.repository, defaultRepo)}:${str(img.tag, appVersion)}`;
}

function probe(path: string, periodSeconds: number, failureThreshold: number, initialDelaySeconds = 0) {
  return { httpGet: { path, port: "http" }, periodSeconds, failureThreshold, initialDelaySeconds };
}

export function renderRelease(values: Values, names: RenderNames): KubeObject[] {
  const { namespace, releaseName, fullname, appVersion } = names;
  const base = {
    "app.kubernetes.io/name": "sie-cluster",
    "app.kubernetes.io/instance": releaseName,
    "app.kubernetes.io/part-of": "sie",
  };
  const labels = (component: string, extra: Record<string, string> = {}) => ({
    ...base,
    "app.kubernetes.io/component": component,
    ...extra,
  });
  const meta = (name: string, l: Record<string, string>) => ({ name, namespace, labels: l });
  const port = [{ name: "http", containerPort: 8080 }];

  const gateway = obj(values.gateway);
  const config = obj(values.config);
  const workers = obj(values.workers);
  const common = obj(workers.common);
  const pools = obj(workers.pools);
  const out: KubeObject[] = [];

  const enabledPools = Object.entries(pools)
    .map(([name, p]) => [name, obj(p)] as const)
    .filter(([, p]) => p.enabled === true)
    .sort(([a], [b]) => a.localeCompare(b));

  out.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(`${fullname}-gpu-config`, labels("config")),
    data: {
      "available-gpus": enabledPools.map(([, p]) => str(p.gpuType, "")).filter((g) => g !== "").join(","),
      "machine-profiles": JSON.stringify(obj(values.machineProfiles)),
    },
  });

  for (const [component, defaultRepo, replicas] of [
    ["gateway", DEFAULT_REPOS.gateway, num(gateway.replicas, 1)],
    ["config", DEFAULT_REPOS.config, 1],
  ] as const) {
    const values = component === "gateway" ? gateway : config;
    const l = labels(component);
    out.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(`${fullname}-${component}`, l),
      spec: {
        replicas,
        selector: { matchLabels: l },
        template: {
          metadata: { labels: l },
          spec: {
            containers: [
              {
                name: component,
                image: image(values, defaultRepo, appVersion),
                ports: port,
                startupProbe: probe("/healthz", 5, 12),
                livenessProbe: probe("/healthz", 10, 3),
                readinessProbe: probe("/readyz", 5, 3),
              },
            ],
          },
        },
      },
    });
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(`${fullname}-${component}`, l),
      spec: { type: "ClusterIP", selector: l, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
    });
  }

  out.push({
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(`${fullname}-worker`, labels("worker")),
    spec: { clusterIP: "None", selector: labels("worker"), ports: [{ name: "http", port: 8080, targetPort: "http" }] },
  });

  const workerImage = obj(common.image);
  const workerRepo = str(workerImage.repository, DEFAULT_REPOS.worker);
  const workerTag = str(workerImage.tag, appVersion);
  for (const [pool, p] of enabledPools) {
    const gpuType = str(p.gpuType, pool);
    const profile = str(p.machineProfile, gpuType);
    const bundle = str(p.bundle, str(common.bundle, "default"));
    const platform = str(p.platform, str(common.platform, "cuda12"));
    const gpuCount = num(obj(p.gpu).count, 0);
    const l = labels("worker", {
      "sie.superlinked.com/pool": pool,
      "sie.superlinked.com/gpu-type": gpuType,
      "sie.superlinked.com/machine-profile": profile,
      "sie.superlinked.com/bundle": bundle,
    });
    const resources = obj(p.resources);
    const withGpu = (r: unknown) => (gpuCount > 0 ? { ...obj(r), "nvidia.com/gpu": gpuCount } : obj(r));
    out.push({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta(`${fullname}-worker-${pool}`, l),
      spec: {
        replicas: num(p.minReplicas, 0),
        serviceName: `${fullname}-worker`,
        podManagementPolicy: "Parallel",
        selector: { matchLabels: l },
        template: {
          metadata: { labels: l },
          spec: {
            nodeSelector: obj(p.nodeSelector),
            tolerations: Array.isArray(p.tolerations) ? p.tolerations : [],
            terminationGracePeriodSeconds: 65,
            containers: [
              {
                name: "worker",
                image: `${workerRepo}:${workerTag}-${platform}-${bundle}`,
                ports: port,
                resources: { requests: withGpu(resources.requests), limits: withGpu(resources.limits) },
                startupProbe: probe("/healthz", 10, 60),
                livenessProbe: probe("/healthz", 30, 3, 10),
                readinessProbe: probe("/readyz", 10, 3, 5),
              },
            ],
          },
        },
      },
    });
  }
  return out;
}
