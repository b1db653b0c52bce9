// Under mocks: the Prometheus a stack installs, the KEDA it picks, and the kubeconfig credentials.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../infra/config/configParse.js";
import { eksKubeconfig, gkeKubeconfig } from "../../../infra/platforms/kubeconfig.js";
import type { FleetOutputs } from "../../../infra/program.js";
import { eksRaw, gkeRaw, withValue, type Raw } from "./fixtures.js";
import { byType, one, resolve, runWithMocks, type Registered } from "./mocks.js";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject";

let deployFleet: typeof import("../../../infra/program.js")["deployFleet"];

beforeAll(async () => {
  // Resource modules are imported only once mocks are in place.
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs });
  ({ deployFleet } = await import("../../../infra/program.js"));
});

async function run(raw: Raw): Promise<{ resources: Registered[]; out: FleetOutputs }> {
  const cfg = parseConfig(raw);
  const { resources, result } = await runWithMocks(() => deployFleet({ ...cfg, hfToken: undefined }));
  return { resources, out: result };
}

describe("monitoring.prometheus.install", () => {
  it("installs pinned kube-prometheus-stack in monitoring; ScaledObjects and the chart's ServiceMonitor point at it", async () => {
    const { resources } = await run(gkeRaw());
    const prom = one(resources, RELEASE, "kube-prometheus-stack").inputs;
    expect(prom).toMatchObject({
      name: "kube-prometheus-stack",
      chart: "kube-prometheus-stack",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      version: "88.5.3",
      namespace: "monitoring",
      createNamespace: true,
    });
    expect(prom.values.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues).toBe(false);
    expect(prom.values.grafana).toEqual({ enabled: false });
    expect(one(resources, RELEASE, "sie-cluster").inputs.values.serviceMonitor).toEqual({ enabled: true });
    const sos = byType(resources, SCALED_OBJECT);
    expect(sos.length).toBe(3);
    for (const so of sos) {
      for (const t of so.inputs.spec.triggers) expect(t.metadata.serverAddress).toBe("http://prometheus-operated.monitoring.svc.cluster.local:9090");
      // gkeRaw installs no KEDA, so its version (and fallback.behavior) is unknown: no fallback, and
      // KEDA keeps each pool's count while Prometheus is unreadable (infra/release/fallbackReplicas.ts).
      expect(so.inputs.spec.fallback).toBeUndefined();
    }
  });

  it("an existing Prometheus is not installed", async () => {
    const { resources } = await run(eksRaw());
    expect(byType(resources, RELEASE).map((r) => r.name)).not.toContain("kube-prometheus-stack");
    expect(one(resources, RELEASE, "sie-cluster").inputs.values.serviceMonitor).toBeUndefined();
    for (const so of byType(resources, SCALED_OBJECT)) {
      expect(so.inputs.spec.triggers[0].metadata.serverAddress).toBe("http://prometheus-k8s.observability.svc.cluster.local:9090");
    }
  });
});

describe("KEDA install", () => {
  it("follows the EKS cluster version", async () => {
    const { resources } = await run(withValue(eksRaw(), "cluster.version", "1.30"));
    expect(one(resources, RELEASE, "keda").inputs).toMatchObject({
      chart: "keda",
      version: "2.17.2",
      repositoryOpts: { repo: "https://kedacore.github.io/charts" },
    });
  });

  it("a KEDA with fallback.behavior (2.17+) gets ScaledObjects that hold each pool at its count while Prometheus is unreadable", async () => {
    const raw = withValue(withValue(gkeRaw(), "cluster.version", "1.30"), "pools.l4.minReplicas", 1);
    const { resources } = await run({ ...raw, "sie-fleet:keda": { install: true } });
    expect(one(resources, RELEASE, "keda").inputs.version).toBe("2.17.2");
    const sos = byType(resources, SCALED_OBJECT);
    expect(sos.length).toBe(3);
    const fallbacks = Object.fromEntries(sos.map((so) => [so.inputs.metadata.name, so.inputs.spec.fallback]));
    // A pool at minReplicas 0 gets none: KEDA's executor empties a pool whose fallback has 0 replicas.
    expect(Object.values(fallbacks).filter((f) => f !== undefined)).toEqual([{ failureThreshold: 3, replicas: 1, behavior: "currentReplicasIfHigher" }]);
    for (const so of sos) expect(so.inputs.spec.triggers.every((t: { metricType: string }) => t.metricType === "AverageValue")).toBe(true);
  });
});

describe("kubeconfig credentials", () => {
  const endpoint = { name: "c", endpoint: "1.2.3.4", caData: "Q0E=" };
  const exec = (text: string) => JSON.parse(text).users[0].user.exec;

  it("GKE: gcloud's login by default, Application Default Credentials on request", async () => {
    expect(exec(gkeKubeconfig({ ...endpoint, auth: "gcloud-plugin" }))).toEqual({
      apiVersion: "client.authentication.k8s.io/v1beta1",
      interactiveMode: "IfAvailable",
      command: "gke-gcloud-auth-plugin",
      installHint: expect.stringContaining("gcloud components install gke-gcloud-auth-plugin"),
      provideClusterInfo: true,
    });
    expect(exec(gkeKubeconfig({ ...endpoint, auth: "application-default" })).args).toEqual(["--use_application_default_credentials"]);

    expect(parseConfig(gkeRaw()).cluster).toMatchObject({ auth: "gcloud-plugin" });
    const { out } = await run(withValue(gkeRaw(), "cluster.auth", "application-default"));
    expect(exec(await resolve(out.kubeconfig))).toMatchObject({ command: "gke-gcloud-auth-plugin", args: ["--use_application_default_credentials"] });
    const plain = await run(gkeRaw());
    expect(exec(await resolve(plain.out.kubeconfig)).args).toBeUndefined();
  });

  it("EKS: the stack's AWS profile and role go into aws eks get-token", async () => {
    const e = exec(
      eksKubeconfig({ ...endpoint, region: "us-east-1", clusterName: "sie", awsProfile: "prod", assumeRoleArn: "arn:aws:iam::123456789012:role/deployer" }),
    );
    expect(e.args).toEqual([
      "eks",
      "get-token",
      "--cluster-name",
      "sie",
      "--region",
      "us-east-1",
      "--role-arn",
      "arn:aws:iam::123456789012:role/deployer",
      "--output",
      "json",
    ]);
    expect(e.env).toEqual([{ name: "AWS_PROFILE", value: "prod" }]);
    expect(exec(eksKubeconfig({ ...endpoint, region: "us-east-1", clusterName: "sie" })).env).toBeUndefined();

    let raw = withValue(eksRaw(), "cluster.awsProfile", "sie-prod");
    raw = withValue(raw, "cluster.assumeRoleArn", "arn:aws:iam::123456789012:role/sie-deployer");
    const { out } = await run(raw);
    const fromStack = exec(await resolve(out.kubeconfig));
    expect(fromStack.args).toEqual([
      "eks",
      "get-token",
      "--cluster-name",
      "sie-prod",
      "--region",
      "us-east-1",
      "--role-arn",
      "arn:aws:iam::123456789012:role/sie-deployer",
      "--output",
      "json",
    ]);
    expect(fromStack.env).toEqual([{ name: "AWS_PROFILE", value: "sie-prod" }]);
  });

  it("bad auth settings are config errors naming the key", () => {
    expect(() => parseConfig(withValue(gkeRaw(), "cluster.auth", "adc"))).toThrow(
      /sie-fleet:cluster\.auth: unknown value "adc"; expected one of gcloud-plugin, application-default/,
    );
    expect(() => parseConfig(withValue(eksRaw(), "cluster.assumeRoleArn", "deployer"))).toThrow(/sie-fleet:cluster\.assumeRoleArn: must be an IAM role ARN/);
    expect(() => parseConfig(withValue(eksRaw(), "cluster.awsProfile", "my profile"))).toThrow(
      /sie-fleet:cluster\.awsProfile: must be an AWS CLI profile name/,
    );
  });
});
