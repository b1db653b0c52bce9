import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../infra/config/configParse.js";
import { HF_TOKEN_SECRET, buildManagedValues, buildReleaseValues, chartFullname } from "../../../infra/release/releaseValues.js";
import { buildScaledObjects } from "../../../infra/release/scaledObjects.js";
import { eksRaw, gkeRaw, kubernetesRaw, localRaw, withValue } from "./fixtures.js";

describe("chartFullname", () => {
  const fn = (release: Record<string, unknown>) => chartFullname({ release: { releaseName: "sie", ...release } as never });
  it("follows the chart's naming", () => {
    expect(fn({})).toBe("sie-sie-cluster");
    expect(fn({ releaseName: "prod-sie-cluster" })).toBe("prod-sie-cluster");
    expect(fn({ fullnameOverride: "sie" })).toBe("sie");
    expect(fn({ releaseName: "a".repeat(60) })).toHaveLength(63);
  });
});

describe("buildReleaseValues", () => {
  it("sends the image tag to workers, gateway and config", () => {
    const v = buildReleaseValues(parseConfig(withValue(gkeRaw(), "release.imageTag", "v0.3.7"))) as any;
    expect(v.workers.common.image.tag).toBe("v0.3.7");
    expect(v.gateway.image.tag).toBe("v0.3.7");
    expect(v.config.image.tag).toBe("v0.3.7");
  });

  it("lets gateway and config have their own tags", () => {
    let raw = withValue(gkeRaw(), "release.gatewayTag", "v0.3.8");
    raw = withValue(raw, "release.configTag", "v0.3.6");
    const v = buildReleaseValues(parseConfig(raw)) as any;
    expect([v.workers.common.image.tag, v.gateway.image.tag, v.config.image.tag]).toEqual(["v0.3.1", "v0.3.8", "v0.3.6"]);
  });

  it("describes each pool for the chart and switches off chart pools we do not use", () => {
    const v = buildReleaseValues(parseConfig(gkeRaw())) as any;
    expect(v.workers.pools.l4).toEqual({
      enabled: true,
      minReplicas: 0,
      maxReplicas: 4,
      machineProfile: "l4",
      gpuType: "l4",
      bundle: "default",
      gpu: { count: 1 },
      // The chart's L4 defaults, set for every pool so a pool not named after a chart pool renders;
      // the memory limit (32Gi, a whole g2-standard-8) lowered to what the node leaves for workers.
      resources: { requests: { cpu: "4", memory: "16Gi" }, limits: { cpu: "8", memory: "27Gi" } },
      nodeSelector: { "sie-fleet/pool": "l4" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    });
    expect(v.workers.pools["a100-40"]).toMatchObject({ gpuType: "a100-40gb", maxReplicas: 4, gpu: { count: 1 } });
    expect(v.workers.pools.system).toMatchObject({ enabled: false, platform: "cpu", gpu: { count: 0 }, tolerations: [] });
    for (const unused of ["a100-40gb", "a100-80gb", "cpu"]) expect(v.workers.pools[unused]).toEqual({ enabled: false });
    expect(v.machineProfiles.l4).toEqual({ gpuType: "l4", machineType: "g2-standard-8", spot: true });
    expect(v.autoscaling).toEqual({ enabled: false });
    expect(v.keda).toEqual({ install: false });
    expect(v.fullnameOverride).toBeUndefined();
  });

  it("merges user values under the managed ones", () => {
    const raw = withValue(gkeRaw(), "release.values", { gateway: { replicas: 3 }, workers: { pools: { l4: { runtimeClassName: "nvidia" } } } });
    const v = buildReleaseValues(parseConfig(raw)) as any;
    expect(v.gateway).toEqual({ replicas: 3, image: { tag: "v0.3.1" } });
    expect(v.workers.pools.l4.runtimeClassName).toBe("nvidia");
    expect(v.workers.pools.l4.gpuType).toBe("l4");
  });

  it("takes worker resources from the pool config over the gpu kind's defaults", () => {
    const raw = withValue(gkeRaw(), "pools.l4.resources", { requests: { cpu: "6" } });
    const v = buildReleaseValues(parseConfig(raw)) as any;
    expect(v.workers.pools.l4.resources).toEqual({ requests: { cpu: "6", memory: "16Gi" }, limits: { cpu: "8", memory: "27Gi" } });
    expect(() => parseConfig(withValue(gkeRaw(), "release.values", { workers: { pools: { l4: { resources: { requests: { cpu: "6" } } } } } }))).toThrow(
      /release\.values\.workers\.pools\.l4\.resources\.requests\.cpu: is managed by sie-fleet/,
    );
  });
});

describe("the model cache size", () => {
  const cacheSize = (raw: Record<string, unknown>) => (buildReleaseValues(parseConfig(raw)) as any).workers.common.cacheStorageSize;

  it("is what every pool's boot disk holds for all its workers, on the nodes sie-fleet creates", () => {
    // 200 GB less 10% and 40 GiB leaves 140 GiB; a2-highgpu-2g nodes run two workers: 70Gi each.
    expect(cacheSize(gkeRaw())).toBe("70Gi");
    // p4d.24xlarge nodes run eight.
    expect(cacheSize(eksRaw())).toBe("17Gi");
    expect(cacheSize(withValue(gkeRaw(), "pools.a100-40.diskSizeGb", 500))).toBe("140Gi");
    // The chart's 300Gi is the most it ever picks.
    let big = gkeRaw();
    for (const pool of ["l4", "a100-40", "a100-80"]) big = withValue(big, `pools.${pool}.diskSizeGb`, 2000);
    expect(cacheSize(big)).toBe("300Gi");
  });

  it("is release.values' when set there, and the chart's own elsewhere", () => {
    expect(cacheSize(withValue(gkeRaw(), "release.values", { workers: { common: { cacheStorageSize: "50Gi" } } }))).toBe("50Gi");
    expect(cacheSize(localRaw())).toBeUndefined();
    expect(cacheSize(kubernetesRaw())).toBeUndefined();
  });
});

describe("buildManagedValues: the Hugging Face token", () => {
  it("with an hfToken, the chart creates the hf-token Secret and every worker reads HF_TOKEN from it", () => {
    const v = buildManagedValues(parseConfig({ ...gkeRaw(), "sie-fleet:hfToken": { secure: "v1:abc" } })) as any;
    expect(HF_TOKEN_SECRET).toEqual({ name: "hf-token", key: "token" });
    expect(v.hfToken).toEqual({ create: true });
    expect(v.workers.common.hfCache).toEqual({ tokenSecret: "hf-token", tokenSecretKey: "token" });
    expect(v.workers.common.image).toEqual({ tag: "v0.3.1" });
  });

  it("without one, neither the Secret nor the reference", () => {
    const v = buildManagedValues(parseConfig(gkeRaw())) as any;
    expect(v.hfToken).toBeUndefined();
    expect(v.workers.common).toEqual({ image: { tag: "v0.3.1" } });
  });

  it("the reference may not be overridden from release.values while sie-fleet sets it", () => {
    const raw = {
      ...gkeRaw(),
      "sie-fleet:hfToken": { secure: "v1:abc" },
      "sie-fleet:release": { ...(gkeRaw()["sie-fleet:release"] as object), values: { workers: { common: { hfCache: { tokenSecret: "mine" } } } } },
    };
    expect(() => parseConfig(raw)).toThrow(
      /release\.values\.workers\.common\.hfCache\.tokenSecret: is managed by sie-fleet and cannot be overridden \(the token comes from the secret sie-fleet:hfToken\)/,
    );
    // Without sie-fleet:hfToken a token Secret of the user's own may be named.
    const own = withValue(gkeRaw(), "release.values", { workers: { common: { hfCache: { tokenSecret: "mine" } } } });
    expect((buildReleaseValues(parseConfig(own)) as any).workers.common.hfCache).toEqual({ tokenSecret: "mine" });
  });
});

describe("buildScaledObjects", () => {
  it("one valid ScaledObject per pool with workers, targeting its StatefulSet", () => {
    const cfg = parseConfig(withValue(gkeRaw(), "release.fullnameOverride", "sie"));
    const sos = buildScaledObjects(cfg, chartFullname(cfg));
    expect(sos.map((s) => [s.metadata.name, s.spec.scaleTargetRef.name])).toEqual([
      ["sie-worker-l4-scaler", "sie-worker-l4"],
      ["sie-worker-a100-40-scaler", "sie-worker-a100-40"],
      ["sie-worker-a100-80-scaler", "sie-worker-a100-80"],
    ]);
    for (const so of sos) {
      expect(() => new ScaledObject(so as any).validate()).not.toThrow();
      expect(so.spec.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: "StatefulSet" });
      expect(so.metadata.namespace).toBe("sie");
    }
  });

  it("carries the autoscaling settings and the chart's triggers", () => {
    const cfg = parseConfig({
      ...withValue(localRaw(), "autoscaling", {
        enabled: true,
        prometheusAddress: "http://127.0.0.1:9090",
        queueDepthThreshold: 7,
        fallbackReplicas: 1,
        scaleDownStabilization: 120,
      }),
      // fallbackReplicas needs a KEDA known to honour fallback.behavior (infra/release/fallbackReplicas.ts).
      "sie-fleet:keda": { install: true },
    });
    const [so] = buildScaledObjects(cfg, "sie-sie-cluster");
    expect(so!.spec).toMatchObject({
      minReplicaCount: 1,
      maxReplicaCount: 3,
      pollingInterval: 15,
      cooldownPeriod: 900,
      fallback: { failureThreshold: 3, replicas: 1, behavior: "currentReplicasIfHigher" },
    });
    const behavior = so!.spec.advanced.horizontalPodAutoscalerConfig.behavior as any;
    expect(behavior.scaleUp).toEqual({
      stabilizationWindowSeconds: 0,
      policies: [
        { type: "Percent", value: 100, periodSeconds: 15 },
        { type: "Pods", value: 4, periodSeconds: 15 },
      ],
      selectPolicy: "Max",
    });
    expect(behavior.scaleDown.stabilizationWindowSeconds).toBe(120);
    expect(so!.spec.triggers.map((t) => [t.name, t.metadata.threshold, t.metadata.activationThreshold])).toEqual([
      ["pending-demand", "1", "0"],
      ["queue-depth", "7", "2"],
      ["active-leases", "1", "0"],
      ["rejections", "1", "0"],
    ]);
    for (const t of so!.spec.triggers) {
      expect(t.type).toBe("prometheus");
      expect(t.metadata.serverAddress).toBe("http://127.0.0.1:9090");
      expect(t.metadata.query).toContain('namespace="sie",machine_profile="l4",bundle="default"');
      expect(t.metadata.query).toMatch(/ or vector\(0\)$/);
    }
  });

  it("none when autoscaling is off", () => {
    expect(buildScaledObjects(parseConfig(withValue(gkeRaw(), "autoscaling", { enabled: false })), "x")).toEqual([]);
  });
});
