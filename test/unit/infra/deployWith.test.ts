// Platform kubernetes with `cluster.deployWith`: the config key, the kubeconfig path rule, and what
// the program registers for "objects" (the chart's objects through sie-fleet's dynamic provider).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig, validateConfig } from "../../../infra/configParse.js";
import { resolveKubeconfigPath } from "../../../infra/kubeconfigPath.js";
import type { FleetOutputs } from "../../../infra/program.js";
import { kubernetesRaw, withValue, type Raw } from "./fixtures.js";
import { one, resolve, runWithMocks, type Registered } from "./mocks.js";

const DYN = "pulumi-nodejs:dynamic/sie-local:";
const objectsRaw = (): Raw => withValue(withValue(kubernetesRaw(), "cluster.deployWith", "objects"), "autoscaling.enabled", true);

function problemsOf(raw: Raw) {
  const r = validateConfig(raw);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.problems.map((p) => ({ path: p.key, message: p.reason, hint: p.hint }));
}

describe("cluster.deployWith", () => {
  it('defaults to "helm" and accepts "objects"', () => {
    expect(parseConfig(kubernetesRaw()).cluster).toMatchObject({ deployWith: "helm" });
    expect(parseConfig(objectsRaw()).cluster).toEqual({ kubeconfig: "/home/me/.kube/config", context: "lab", deployWith: "objects" });
  });

  it("rejects another value, naming the key and the choices", () => {
    const problems = problemsOf(withValue(kubernetesRaw(), "cluster.deployWith", "kubectl"));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe("sie-fleet:cluster.deployWith");
    expect(problems[0]!.message).toMatch(/expected one of helm, objects/);
  });

  it("is only a key of platform kubernetes", () => {
    const problems = problemsOf({ "sie-fleet:platform": "local", "sie-fleet:cluster": { deployWith: "objects" }, "sie-fleet:pools": { l4: { gpu: "l4" } }, "sie-fleet:release": { imageTag: "v0.3.1", version: "0.3.1" } });
    expect(problems.map((i) => i.path)).toContain("sie-fleet:cluster.deployWith");
  });

  it("refuses what only the Helm chart would install (KEDA, the HF token Secret) with objects", () => {
    const keda = problemsOf(withValue(objectsRaw(), "keda.install", true));
    expect(keda).toEqual([expect.objectContaining({ path: "sie-fleet:keda.install", hint: expect.stringMatching(/keda.install: false|deployWith: helm/) })]);
    const token = validateConfig({ ...objectsRaw(), "sie-fleet:hfToken": { secure: "v1:abc" } });
    expect(token.ok).toBe(false);
    if (!token.ok) expect(token.problems.map((p) => p.key)).toEqual(["sie-fleet:hfToken"]);
    // The helm path still installs both.
    expect(validateConfig({ ...withValue(kubernetesRaw(), "keda.install", true), "sie-fleet:hfToken": { secure: "v1:abc" } }).ok).toBe(true);
  });
});

describe("resolveKubeconfigPath", () => {
  const env = { HOME: "/home/me" };
  it("resolves cluster.kubeconfig against the project directory and expands ~/", () => {
    expect(resolveKubeconfigPath("kube/admin.yaml", "/proj", env)).toBe("/proj/kube/admin.yaml");
    expect(resolveKubeconfigPath("~/.kube/lab", "/proj", env)).toBe("/home/me/.kube/lab");
    expect(resolveKubeconfigPath("/abs/config", "/proj", env)).toBe("/abs/config");
  });
  it("falls back to the first $KUBECONFIG file, then ~/.kube/config", () => {
    expect(resolveKubeconfigPath(undefined, "/proj", { ...env, KUBECONFIG: ["/a/one", "/b/two"].join(path.delimiter) })).toBe("/a/one");
    expect(resolveKubeconfigPath(undefined, "/proj", env)).toBe("/home/me/.kube/config");
  });
});

describe('platform kubernetes, deployWith "objects" (program under mocks)', () => {
  let deployFleet: (typeof import("../../../infra/program.js"))["deployFleet"];
  beforeAll(async () => {
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs });
    ({ deployFleet } = await import("../../../infra/program.js"));
  });
  const run = async (raw: Raw): Promise<{ resources: Registered[]; out: FleetOutputs }> => {
    const { resources, result } = await runWithMocks(() => deployFleet({ ...parseConfig(raw), hfToken: undefined }));
    return { resources, out: result };
  };

  it("registers the namespace, the rendered release and one ScaledObject per pool, all with the kubeconfig path only", async () => {
    const { resources, out } = await run(objectsRaw());
    expect(resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual(
      [`${DYN}Namespace::namespace`, `${DYN}Release::sie-release`, `${DYN}ScaledObject::sie-sie-cluster-worker-l4-scaler`].sort(),
    );
    for (const r of resources) {
      expect(r.inputs).toMatchObject({ kubeconfig: "/home/me/.kube/config", context: "lab" });
      expect(r.inputs.simDir).toBeUndefined();
    }
    const release = one(resources, `${DYN}Release`, "sie-release").inputs;
    expect(release.preserveOnUpdate).toEqual(["spec.replicas"]);
    const sts = release.objects.find((o: any) => o.kind === "StatefulSet");
    expect(sts.metadata.name).toBe("sie-sie-cluster-worker-l4");
    expect(sts.spec.template.spec.nodeSelector).toEqual({ "cloud.google.com/gke-accelerator": "nvidia-l4" });
    expect(sts.spec.template.spec.tolerations).toContainEqual(expect.objectContaining({ key: "nvidia.com/gpu", effect: "NoSchedule" }));
    expect(sts.spec.template.spec.containers[0].image).toMatch(/:v0\.3\.1-/);
    const so = one(resources, `${DYN}ScaledObject`, "sie-sie-cluster-worker-l4-scaler").inputs.objects[0];
    expect(so).toMatchObject({ apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", spec: { scaleTargetRef: { name: "sie-sie-cluster-worker-l4" } } });
    expect(out.pools.l4).toEqual({ statefulSet: "sie-sie-cluster-worker-l4", scaledObject: "sie-sie-cluster-worker-l4-scaler" });
    expect(out.helmRevision).toBeUndefined();
    expect(await resolve(out.kubeconfig)).toBe("/home/me/.kube/config");
    expect(await pulumi.isSecret(out.kubeconfig)).toBe(true);
  });

  it("an image-tag change touches only the release resource", async () => {
    const before = (await run(objectsRaw())).resources;
    const after = (await run(withValue(objectsRaw(), "release.imageTag", "v0.4.0"))).resources;
    const changed = after.filter((a) => JSON.stringify(a.inputs) !== JSON.stringify(before.find((b) => b.name === a.name && b.type === a.type)?.inputs));
    expect(changed.map((r) => r.name)).toEqual(["sie-release"]);
  });

  it("leaves the namespace alone when release.createNamespace is false", async () => {
    const { resources } = await run(withValue(objectsRaw(), "release.createNamespace", false));
    expect(resources.some((r) => r.type === `${DYN}Namespace`)).toBe(false);
  });
});
