// Every stack file's values, rendered by the real sie-cluster chart through Helm's own engine
// (`helm template`, the Go-built client) with sie-fleet's post-renderer: the chart accepts them,
// and each pool's workers come out with the image, placement and resources the config asks for.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { ensureKubernetesTools } from "../../automation/engine/kubernetesPlugin.js";
import { parseConfig } from "../../infra/config/configParse.js";
import { hasWorkers, type FleetConfig } from "../../infra/config/configTypes.js";
import { HF_TOKEN_SECRET, buildReleaseValues, chartFullname, configTag, gatewayTag, workerStatefulSetName } from "../../infra/release/releaseValues.js";
import { chartDirFor, renderChart, type KubeObject } from "./helm.js";

const STACKS = join(REPO_ROOT, "stacks");
const files = readdirSync(STACKS).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f));

function stackConfig(file: string, extra: Record<string, unknown> = {}): FleetConfig {
  const doc = load(readFileSync(join(STACKS, file), "utf8")) as { config?: Record<string, unknown> };
  return parseConfig({ ...(doc.config ?? {}), ...extra });
}

/** The release's objects as Helm renders them for this config (the token is any value: only Pulumi knows it). */
function render(cfg: FleetConfig): Promise<KubeObject[]> {
  const values = buildReleaseValues(cfg) as Record<string, any>;
  if (cfg.hasHfToken) values.hfToken = { ...values.hfToken, value: "rendered-in-test" };
  return renderChart({ chartDir: chartDirFor(cfg.release), releaseName: cfg.release.releaseName, namespace: cfg.release.namespace, values });
}

const find = (objs: KubeObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

beforeAll(async () => {
  // A first build of the provider and helm takes minutes; later runs find it in the tools cache.
  await ensureKubernetesTools({ onProgress: (l) => process.stderr.write(`${l}\n`) });
}, 60 * 60_000);

describe.each(files)("%s rendered by the real chart", (file) => {
  const cfg = stackConfig(file);
  const fullname = chartFullname(cfg);
  let objects: KubeObject[];

  beforeAll(async () => {
    objects = await render(cfg);
  }, 120_000);

  it("renders without error, with no chart hooks and no chart-owned ScaledObjects", () => {
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.filter((o) => o.metadata.annotations?.["helm.sh/hook"]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(objects.filter((o) => o.kind === "ScaledObject")).toEqual([]);
  });

  it("one worker StatefulSet per pool with workers, none for the others", () => {
    const sts = objects
      .filter((o) => o.kind === "StatefulSet")
      .map((o) => o.metadata.name)
      .sort();
    const expected = Object.values(cfg.pools)
      .filter(hasWorkers)
      .map((p) => workerStatefulSetName(fullname, p.name))
      .sort();
    expect(sts).toEqual(expected);
  });

  it("each pool's workers: image, placement, GPUs and resources; no replica count for Helm to reset", () => {
    for (const pool of Object.values(cfg.pools).filter(hasWorkers)) {
      const sts = find(objects, "StatefulSet", workerStatefulSetName(fullname, pool.name))!;
      const pod = sts.spec.template.spec;
      const container = pod.containers[0];
      const platform = pool.gpu === "cpu" ? "cpu" : "cuda12";
      expect(container.image, pool.name).toBe(`ghcr.io/superlinked/sie-server:${cfg.release.imageTag}-${platform}-${pool.bundle}`);
      expect(pod.nodeSelector, pool.name).toEqual(pool.nodeSelector);
      expect(pod.tolerations ?? [], pool.name).toEqual(pool.nodeTaints.map((t) => ({ key: t.key, operator: "Exists", effect: t.effect })));
      const gpus = pool.gpusPerWorker > 0 ? { "nvidia.com/gpu": String(pool.gpusPerWorker) } : {};
      expect(container.resources, pool.name).toEqual({
        requests: { ...pool.resources.requests, ...gpus },
        limits: { ...pool.resources.limits, ...gpus },
      });
      expect(sts.spec.replicas, pool.name).toBeUndefined();
      expect(sts.metadata.labels?.["sie.superlinked.com/pool"]).toBe(pool.name);
    }
  });

  it("with a Prometheus this stack installs, the chart's ServiceMonitor scrapes the release's http ports", () => {
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
    if (!cfg.monitoring.install) {
      expect(monitors).toEqual([]);
      return;
    }
    expect(monitors.map((m) => m.metadata.name)).toEqual([fullname]);
    const gatewayService = find(objects, "Service", `${fullname}-gateway`)!;
    const selector = monitors[0]!.spec.selector.matchLabels as Record<string, string>;
    for (const [k, v] of Object.entries(selector)) expect(gatewayService.metadata.labels?.[k], k).toBe(v);
    expect(monitors[0]!.spec.endpoints).toEqual([expect.objectContaining({ port: "http", path: "/metrics" })]);
  });

  it("gateway and config run their own tags", () => {
    const gateway = find(objects, "Deployment", `${fullname}-gateway`);
    const config = find(objects, "Deployment", `${fullname}-config`);
    expect(gateway?.spec.template.spec.containers[0].image).toMatch(new RegExp(`:${gatewayTag(cfg)}$`));
    expect(config?.spec.template.spec.containers[0].image).toMatch(new RegExp(`:${configTag(cfg)}$`));
  });
});

describe("a stack with sie-fleet:hfToken, rendered by the real chart", () => {
  // A stack file keeps the token encrypted; parseConfig only needs to see that it is a secret.
  const cfg = stackConfig("Pulumi.local.yaml", { "sie-fleet:hfToken": { secure: "v1:encrypted" } });
  const fullname = chartFullname(cfg);
  let objects: KubeObject[];

  beforeAll(async () => {
    objects = await render(cfg);
  }, 120_000);

  it("the chart creates the token Secret", () => {
    const secret = find(objects, "Secret", HF_TOKEN_SECRET.name);
    expect(secret?.metadata.namespace).toBe(cfg.release.namespace);
    expect(Object.keys((secret as { data?: Record<string, string> }).data ?? {})).toEqual([HF_TOKEN_SECRET.key]);
  });

  it("every worker StatefulSet's container reads HF_TOKEN from that Secret and key", () => {
    const pools = Object.values(cfg.pools).filter(hasWorkers);
    expect(pools.length).toBeGreaterThan(0);
    for (const pool of pools) {
      const sts = find(objects, "StatefulSet", workerStatefulSetName(fullname, pool.name))!;
      for (const container of sts.spec.template.spec.containers as { name: string; env?: { name: string; valueFrom?: unknown }[] }[]) {
        const env = (container.env ?? []).filter((e) => e.name === "HF_TOKEN");
        expect(env, `${pool.name}/${container.name}`).toEqual([
          { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: HF_TOKEN_SECRET.name, key: HF_TOKEN_SECRET.key } } },
        ]);
      }
    }
  });
});
