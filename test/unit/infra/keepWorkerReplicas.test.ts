// The Helm post-renderer that keeps worker replica counts out of every manifest Helm applies.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { WORKER_REPLICAS_POSTRENDER } from "../../../infra/release/helm/postRender.js";

const _REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function postRender(manifests: string): unknown[] {
  const out = execFileSync(WORKER_REPLICAS_POSTRENDER, { input: manifests, encoding: "utf8" });
  return yaml.loadAll(out).filter((d) => d !== null);
}

const worker = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: sie-sie-cluster-worker-l4
  labels: {app.kubernetes.io/component: worker}
spec:
  replicas: 1
  podManagementPolicy: Parallel
`;
const gateway = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: sie-sie-cluster-gateway
  labels: {app.kubernetes.io/component: gateway}
spec:
  replicas: 2
`;

describe("keepWorkerReplicas post-renderer", () => {
  it("drops spec.replicas from worker StatefulSets only and keeps every document", () => {
    const docs = postRender(`---\n# Source: sie-cluster/templates/worker-statefulset.yaml\n${worker}---\n${gateway}---\n`) as {
      kind: string;
      spec: Record<string, unknown>;
    }[];
    expect(docs.map((d) => d.kind)).toEqual(["StatefulSet", "Deployment"]);
    expect(docs[0]!.spec).toEqual({ podManagementPolicy: "Parallel" });
    expect(docs[1]!.spec).toEqual({ replicas: 2 });
  });

  it("fails on input it cannot parse instead of passing it through", () => {
    expect(() => postRender("kind: [unclosed\n")).toThrow();
  });
});
