// A third-party chart from a Helm repository (KEDA, kube-prometheus-stack, the NVIDIA device plugin), installed as a
// release of the same name.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface RepoChartArgs {
  /** Chart name in the repository; also the release name. */
  chart: string;
  repo: string;
  version: string;
  namespace: string;
  values?: Record<string, unknown>;
  createNamespace?: boolean;
}

export function repoChartRelease(a: RepoChartArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    a.chart,
    {
      name: a.chart,
      chart: a.chart,
      repositoryOpts: { repo: a.repo },
      version: a.version,
      namespace: a.namespace,
      ...(a.values ? { values: a.values } : {}),
      ...(a.createNamespace ? { createNamespace: true } : {}),
    },
    opts,
  );
}
