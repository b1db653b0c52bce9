// Every ScaledObject the program renders for every stack file, sent to the lane cluster's API
// server with a server-side dry run and strict field validation: the cluster serves KEDA's own
// CRDs (full schemas, from the KEDA release tools/kube/keda pins), so what it accepts KEDA's API
// accepts, and a field KEDA does not know, or a value outside its enums, is refused.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { readClusterInfo } from "../../cluster/daemonState.js";
import { parseConfig } from "../../infra/config/configParse.js";
import { chartFullname } from "../../infra/release/releaseValues.js";
import { buildScaledObjects, type ScaledObjectManifest } from "../../infra/release/scaledObjects.js";
import { testClusterDir } from "../support/laneCluster.js";

const STACKS = path.join(REPO_ROOT, "stacks");
const files = fs.readdirSync(STACKS).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f));
/** Dry runs change nothing, so any existing namespace does. */
const NAMESPACE = "default";

function custom(): k8s.CustomObjectsApi {
  const info = readClusterInfo(testClusterDir());
  if (!info) throw new Error(`no lane cluster in ${testClusterDir()}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  return kc.makeApiClient(k8s.CustomObjectsApi);
}

function rendered(file: string): ScaledObjectManifest[] {
  const doc = yaml.load(fs.readFileSync(path.join(STACKS, file), "utf8")) as { config?: Record<string, unknown> };
  const cfg = parseConfig(doc.config ?? {});
  return buildScaledObjects(cfg, chartFullname(cfg));
}

/** The API server's verdict on a create, without creating: undefined when accepted, else its message. */
async function dryRunCreate(body: object): Promise<string | undefined> {
  try {
    await custom().createNamespacedCustomObject({
      group: "keda.sh",
      version: "v1alpha1",
      namespace: NAMESPACE,
      plural: "scaledobjects",
      body: { ...body, metadata: { ...(body as { metadata: object }).metadata, namespace: NAMESPACE } },
      dryRun: "All",
      fieldValidation: "Strict",
    });
    return undefined;
  } catch (err) {
    const e = err as { code?: number; body?: string; message?: string };
    return `${e.code ?? "?"}: ${e.body ?? e.message}`;
  }
}

describe("ScaledObjects against KEDA's own CRD schema", () => {
  it.each(files)("%s: every rendered ScaledObject is accepted", async (file) => {
    const objects = rendered(file);
    expect(objects.length).toBeGreaterThan(0);
    const refused: Record<string, string> = {};
    for (const so of objects) {
      const why = await dryRunCreate(so);
      if (why) refused[so.metadata.name] = why;
    }
    expect(refused).toEqual({});
  });

  it("the schema is KEDA's, not an open one: an unknown field and a value outside an enum are refused", async () => {
    const [so] = rendered("Pulumi.local.yaml");
    if (!so) throw new Error("the local stack renders no ScaledObject");
    expect(await dryRunCreate(so)).toBeUndefined();
    expect(await dryRunCreate({ ...so, spec: { ...so.spec, maxReplicaCoun: 3 } })).toMatch(/^400: .*maxReplicaCoun/);
    const fallback = { failureThreshold: 3, replicas: 1, behavior: "currentReplicasIfHigher" };
    expect(await dryRunCreate({ ...so, spec: { ...so.spec, fallback } })).toBeUndefined();
    expect(await dryRunCreate({ ...so, spec: { ...so.spec, fallback: { ...fallback, behavior: "ifHigher" } } })).toMatch(
      /^(400|422): .*spec\.fallback\.behavior/,
    );
  });
});
