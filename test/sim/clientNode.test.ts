import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import type { Simulator } from "../../sim/index.js";
import { componentDeployment, kubeConfigFor, namespace, NS, scaledObject, startTestSim, waitFor, workerStatefulSet } from "./helpers.js";

// These tests talk to the simulator only through @kubernetes/client-node 1.4.0, as the upgrade
// engine does, to prove the wire format (paths, patch content types, Status errors) matches.
describe("@kubernetes/client-node against the simulator", () => {
  let sim: Simulator;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    sim = await startTestSim();
    const kc = kubeConfigFor(sim);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: namespace() });
    await apps.createNamespacedStatefulSet({ namespace: NS, body: workerStatefulSet() as V1StatefulSet });
    await apps.createNamespacedDeployment({ namespace: NS, body: componentDeployment("gateway") as never });
    await custom.createNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects", body: scaledObject() });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("lists and reads StatefulSets, Deployments, pods and ScaledObjects", async () => {
    const list = await apps.listNamespacedStatefulSet({ namespace: NS });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(["sie-worker-l4"]);
    const sts = await apps.readNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS });
    expect(sts.metadata?.generation).toBe(1);
    expect(sts.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(sts.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { partition: 0 } });
    const deploys = await apps.listDeploymentForAllNamespaces();
    expect(deploys.items.map((d) => d.metadata?.name)).toEqual(["sie-gateway"]);
    const pods = await waitFor("3 ready worker pods", async () => {
      const l = await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/component in (worker),sie.superlinked.com/pool=l4" });
      return l.items.length === 3 && l.items.every((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) ? l : undefined;
    });
    expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual(["sie-worker-l4-0", "sie-worker-l4-1", "sie-worker-l4-2"]);
    const so = (await custom.getNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects", name: "sie-worker-l4-scaler" })) as {
      spec: { scaleTargetRef: { name: string } };
    };
    expect(so.spec.scaleTargetRef.name).toBe("sie-worker-l4");
  });

  it("patches with merge, strategic-merge and JSON patch content types", async () => {
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const a = await apps.patchNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS, body: { metadata: { annotations: { "sie-fleet/wave": "1" } } } }, merge);
    expect(a.metadata?.annotations?.["sie-fleet/wave"]).toBe("1");
    expect(a.metadata?.generation).toBe(1); // metadata-only change

    const smp = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
    const b = await apps.patchNamespacedStatefulSet(
      { name: "sie-worker-l4", namespace: NS, body: { spec: { template: { spec: { containers: [{ name: "sie-server", image: "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default" }] } } } } },
      smp,
    );
    expect(b.metadata?.generation).toBe(2);
    // Strategic merge keeps the container's other fields.
    expect(b.spec?.template.spec?.containers[0]?.ports?.[0]?.containerPort).toBe(8080);

    // JSON patch is what client-node sends when no Content-Type is chosen.
    const c = await apps.patchNamespacedStatefulSet({
      name: "sie-worker-l4",
      namespace: NS,
      body: [{ op: "replace", path: "/spec/updateStrategy/rollingUpdate/partition", value: 2 }],
    });
    expect(c.spec?.updateStrategy?.rollingUpdate?.partition).toBe(2);

    const so = (await custom.patchNamespacedCustomObject(
      { group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects", name: "sie-worker-l4-scaler", body: { metadata: { annotations: { "autoscaling.keda.sh/paused-replicas": "3" } } } },
      merge,
    )) as { metadata: { annotations: Record<string, string> } };
    expect(so.metadata.annotations["autoscaling.keda.sh/paused-replicas"]).toBe("3");

    const scale = await apps.patchNamespacedDeploymentScale({ name: "sie-gateway", namespace: NS, body: { spec: { replicas: 3 } } }, merge);
    expect(scale.spec?.replicas).toBe(3);
    expect((await apps.readNamespacedDeployment({ name: "sie-gateway", namespace: NS })).spec?.replicas).toBe(3);
  });

  it("rejects a merge-patch body sent with client-node's default JSON-patch content type", async () => {
    const err = await apps
      .patchNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS, body: { spec: { replicas: 1 } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(400);
  });

  it("returns apiserver Status errors: 404, 409 AlreadyExists, 409 Conflict, 422", async () => {
    const code = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(ApiException);
      const ex = e as ApiException<string>;
      const body = JSON.parse(ex.body) as { kind: string; reason: string; code: number };
      expect(body.kind).toBe("Status");
      expect(body.code).toBe(ex.code);
      return [ex.code, body.reason];
    };
    expect(await code(apps.readNamespacedStatefulSet({ name: "nope", namespace: NS }))).toEqual([404, "NotFound"]);
    expect(await code(apps.createNamespacedStatefulSet({ namespace: NS, body: workerStatefulSet() as V1StatefulSet }))).toEqual([409, "AlreadyExists"]);
    const cur = await apps.readNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS });
    // Any later write makes `cur` stale.
    await apps.patchNamespacedStatefulSet(
      { name: "sie-worker-l4", namespace: NS, body: { metadata: { labels: { touched: "yes" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await code(apps.replaceNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS, body: cur }))).toEqual([409, "Conflict"]);
    const bad = workerStatefulSet({ pool: "bad" });
    bad.spec.selector.matchLabels["sie.superlinked.com/pool"] = "other";
    expect(await code(apps.createNamespacedStatefulSet({ namespace: NS, body: bad as V1StatefulSet }))).toEqual([422, "Invalid"]);
  });

  it("records events and serves discovery and /version", async () => {
    const events = await core.listNamespacedEvent({ namespace: NS });
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(["Scheduled", "Pulled", "Started", "SuccessfulCreate"]));
    const v = await (await fetch(`${sim.api}/version`)).json();
    expect(v).toMatchObject({ major: "1" });
    const groups = (await (await fetch(`${sim.api}/apis`)).json()) as { groups: { name: string }[] };
    // kubectl get asks for server-side Tables.
    const table = (await (
      await fetch(`${sim.api}/api/v1/namespaces/${NS}/pods`, { headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" } })
    ).json()) as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(table.kind).toBe("Table");
    expect(table.columnDefinitions.map((c) => c.name).slice(0, 5)).toEqual(["Name", "Ready", "Status", "Restarts", "Age"]);
    expect(table.rows.length).toBeGreaterThanOrEqual(3);
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(["apps", "keda.sh"]));
  });
});

describe("watch", () => {
  it("streams ADDED/MODIFIED events to client-node's Watch", async () => {
    const { Watch } = await import("@kubernetes/client-node");
    const sim = await startTestSim();
    try {
      const kc = kubeConfigFor(sim);
      const seen: string[] = [];
      const w = new Watch(kc);
      const req = await w.watch(
        "/api/v1/namespaces",
        {},
        (type: string, obj: { metadata?: { name?: string } }) => seen.push(`${type} ${obj.metadata?.name}`),
        () => undefined,
      );
      await waitFor("initial list", () => seen.includes("ADDED default"));
      await kc.makeApiClient(CoreV1Api).createNamespace({ body: namespace("watched") });
      await waitFor("watched ns added", () => seen.includes("ADDED watched"));
      req.abort();
    } finally {
      await sim.stop();
    }
  });
});
