// Raw stack configs (as they appear under `config:` in a stack file) for the infra tests.

export type Raw = Record<string, unknown>;

const release = { version: "0.3.1", releaseName: "sie", namespace: "sie", imageTag: "v0.3.1" };

export function gkeRaw(): Raw {
  return {
    "gcp:project": "ignored-by-sie-fleet",
    "sie-fleet:platform": "gke",
    "sie-fleet:cluster": { name: "sie-prod", project: "acme-ml-prod", region: "us-central1", zones: ["us-central1-a", "us-central1-b"] },
    "sie-fleet:pools": {
      l4: { gpu: "l4", maxNodes: 4, spot: true },
      "a100-40": { gpu: "a100-40gb", gpusPerNode: 2, maxNodes: 2 },
      "a100-80": { gpu: "a100-80gb", maxNodes: 1, zones: ["us-central1-c"] },
      system: { gpu: "cpu", minNodes: 1, maxNodes: 3, maxReplicas: 0 },
    },
    "sie-fleet:release": { ...release },
    "sie-fleet:autoscaling": { enabled: true },
    "sie-fleet:monitoring": { prometheus: { install: true } },
    "sie-fleet:rollout": { canaryPool: "l4", waveOrder: ["a100-40", "a100-80"] },
  };
}

export function eksRaw(): Raw {
  return {
    "sie-fleet:platform": "eks",
    "sie-fleet:cluster": {
      name: "sie-prod",
      region: "us-east-1",
      version: "1.31",
      subnetIds: ["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
      nodeRoleArn: "arn:aws:iam::123456789012:role/sie-nodes",
      roleArn: "arn:aws:iam::123456789012:role/sie-cluster",
    },
    "sie-fleet:pools": {
      l4: { gpu: "l4", maxNodes: 4 },
      "a100-40": { gpu: "a100-40gb", maxNodes: 1, maxReplicas: 4 },
      "a100-80": { gpu: "a100-80gb", maxNodes: 1, spot: true },
      system: { gpu: "cpu", minNodes: 1, maxNodes: 1, maxReplicas: 0 },
    },
    "sie-fleet:release": { ...release },
    "sie-fleet:autoscaling": { enabled: true },
    "sie-fleet:keda": { install: true },
    "sie-fleet:monitoring": { prometheus: { service: "observability/prometheus-k8s:9090" } },
  };
}

export function kubernetesRaw(): Raw {
  return {
    "sie-fleet:platform": "kubernetes",
    "sie-fleet:cluster": { kubeconfig: "/home/me/.kube/config", context: "lab" },
    "sie-fleet:pools": {
      l4: { gpu: "l4", maxReplicas: 2, nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-l4" } },
    },
    "sie-fleet:release": { ...release },
  };
}

export function localRaw(): Raw {
  return {
    "sie-fleet:platform": "local",
    "sie-fleet:pools": { l4: { gpu: "l4", maxNodes: 3, minReplicas: 1, maxReplicas: 3 }, cpu: { gpu: "cpu", maxNodes: 1 } },
    "sie-fleet:release": { ...release },
    "sie-fleet:autoscaling": { enabled: true, prometheusAddress: "http://127.0.0.1:9090" },
  };
}

/** Deep copy with a change applied at a dotted path inside one section (`pools.l4.maxNodes`). */
export function withValue(raw: Raw, path: string, value: unknown): Raw {
  const copy = structuredClone(raw);
  const [section, ...rest] = path.split(".");
  const key = `sie-fleet:${section}`;
  if (rest.length === 0) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
    return copy;
  }
  let node = (copy[key] ??= {}) as Record<string, unknown>;
  for (const seg of rest.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
  const last = rest[rest.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}
