// `pulumi up` of the local stack installs the real sie-cluster chart through the real Helm
// release onto the lane's cluster: every object the chart renders for the stack's pools is in the
// namespace, the real scheduler puts each pool's workers on nodes of its GPU kind, a pool whose
// GPU the cluster lacks stays Pending, no hook Job is left, a refresh finds no drift and the
// state holds the kubeconfig's path, never its keys.
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { previewStack, upStack } from "../../automation/engine/operations.js";
import { parseConfig } from "../../infra/config/configParse.js";
import { GPU_LABEL, GPU_TAINT } from "../../infra/hardware/gpuProfiles.js";
import { buildReleaseValues } from "../../infra/release/releaseValues.js";
import { chartDirFor, renderChart, type KubeObject } from "../chart/helm.js";
import { helmHooks, helmManifest, RELEASE } from "../support/helmRelease.js";
import { gatewayGet, SCENARIO_TIMEOUT_MS, useStackFixture, waitFor, waitReleaseReady, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();
const POOL_GPU = { l4: "l4", a100: "a100-40gb" } as const;
const ids = (objs: KubeObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();

describe("install on the real cluster", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  it("every object the chart renders for the stack's pools exists in the namespace, as Helm recorded it", async () => {
    const manifest = await helmManifest(fx);
    const cfg = parseConfig((yaml.load(fs.readFileSync(fx.configFile, "utf8")) as { config: Record<string, unknown> }).config);
    const rendered = await renderChart({ chartDir: chartDirFor(cfg.release), releaseName: RELEASE, namespace: fx.namespace, values: buildReleaseValues(cfg) });
    expect(ids(manifest)).toEqual(ids(rendered));
    expect(ids(manifest)).toEqual(expect.arrayContaining(Object.keys(POOL_GPU).map((p) => `StatefulSet/${fx.fullname}-worker-${p}`)));
    const objects = k8s.KubernetesObjectApi.makeApiClient(fx.kubeConfig);
    const missing: string[] = [];
    for (const o of manifest) {
      const live = await objects
        .read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace ?? fx.namespace } })
        .catch(() => undefined);
      if (!live || live.metadata?.annotations?.["meta.helm.sh/release-name"] !== RELEASE) missing.push(`${o.kind}/${o.metadata.name}`);
    }
    expect(missing).toEqual([]);
  });

  it("workers run only on nodes of their pool's GPU kind (the real scheduler, labels and taints)", async () => {
    const pods = (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items;
    const nodes = new Map((await fx.core.listNode()).items.map((n) => [n.metadata!.name!, n]));
    for (const [pool, gpu] of Object.entries(POOL_GPU)) {
      const workers = pods.filter(
        (p) => p.metadata?.labels?.["app.kubernetes.io/component"] === "worker" && p.metadata?.labels?.["sie.superlinked.com/pool"] === pool,
      );
      expect(workers.length, pool).toBe(1);
      for (const p of workers) {
        expect(nodes.get(p.spec!.nodeName!)?.metadata?.labels?.[GPU_LABEL], p.metadata?.name).toBe(gpu);
        expect(p.spec?.tolerations).toContainEqual(expect.objectContaining({ key: GPU_TAINT.key, effect: GPU_TAINT.effect }));
      }
    }
    // The gateway and config tolerate no GPU taint, so they land on untainted (CPU) nodes.
    const services = pods.filter((p) => ["gateway", "config"].includes(p.metadata?.labels?.["app.kubernetes.io/component"] ?? ""));
    expect(services.length).toBe(2);
    for (const p of services) expect(nodes.get(p.spec!.nodeName!)?.spec?.taints ?? [], p.metadata?.name).toEqual([]);
    const r = await gatewayGet(fx, "/readyz");
    expect(r).toMatchObject({ status: 200, version: "0.3.1", body: { status: "ready", healthy_workers: 2 } });
  });

  it("no chart hook ran or was left behind", async () => {
    expect(ids(await helmHooks(fx))).toEqual([]);
    const batch = fx.kubeConfig.makeApiClient(k8s.BatchV1Api);
    expect((await batch.listNamespacedJob({ namespace: fx.namespace })).items.map((j) => j.metadata?.name)).toEqual([]);
  });

  it("the stack outputs name the kubeconfig file; the exported state holds no key material", async () => {
    const s = await fx.open();
    const outputs = await s.stack.outputs();
    expect(outputs.kubeconfig).toMatchObject({ value: fx.cluster.kubeconfigPath, secret: true });
    expect(outputs.pools?.value).toMatchObject({ l4: { statefulSet: `${fx.fullname}-worker-l4`, scaledObject: `${fx.fullname}-worker-l4-scaler` } });
    const kc = fx.kubeConfig;
    const keys = [kc.getCurrentUser()?.keyData, kc.getCurrentUser()?.certData, kc.getCurrentCluster()?.caData].filter((k): k is string => !!k);
    expect(keys.length).toBe(3);
    const pems = keys.map((k) => Buffer.from(k, "base64").toString("utf8").split("\n")[1]!);
    const state = JSON.stringify((await s.stack.exportStack()).deployment);
    for (const secret of [...keys, ...pems]) expect(state.includes(secret)).toBe(false);
    expect(state).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });

  it(
    "pulumi refresh, then preview, finds no drift",
    async () => {
      const s = await fx.open();
      await s.stack.refresh({ color: "never" });
      const preview = await previewStack(s);
      expect(preview.changeSummary, JSON.stringify(preview.steps.filter((st) => st.op !== "same"))).toEqual({ same: expect.any(Number) });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a pool whose GPU no node has (a100-80gb) stays Pending and Unschedulable; the others keep serving",
    async () => {
      fx.writeConfig((c) => {
        c["sie-fleet:pools"].big = { gpu: "a100-80gb", maxNodes: 1, minReplicas: 1, maxReplicas: 1 };
      });
      await upStack(await fx.open());
      const pending = await waitFor(
        "the a100-80gb worker to be reported unschedulable",
        async () => {
          const p = (
            await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=big" })
          ).items[0];
          const cond = p?.status?.conditions?.find((c) => c.type === "PodScheduled");
          return cond?.status === "False" ? { pod: p!, cond } : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(pending.pod.status?.phase).toBe("Pending");
      expect(pending.cond.reason).toBe("Unschedulable");
      expect(pending.pod.spec?.nodeName).toBeUndefined();
      expect((await gatewayGet(fx, "/readyz")).body).toMatchObject({ healthy_workers: 2 });
      // Dropping the pool again deletes its StatefulSet through Helm; the release is whole again.
      fx.writeConfig();
      await upStack(await fx.open());
      await waitReleaseReady(fx);
      const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items.map((s) => s.metadata?.name);
      expect(sts).not.toContain(`${fx.fullname}-worker-big`);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
