// Where platform kubernetes reads its kubeconfig, and where platform local finds the embedded cluster.
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { embeddedClusterDir, embeddedKubeconfigPath } from "../../../infra/platforms/embeddedCluster.js";
import { resolveKubeconfigPath } from "../../../infra/platforms/kubeconfigPath.js";

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

describe("embeddedClusterDir", () => {
  it("is $SIE_FLEET_CLUSTER_DIR, else <state dir>/cluster, with the kubeconfig inside", () => {
    expect(embeddedClusterDir("/proj/.sie-fleet", {})).toBe("/proj/.sie-fleet/cluster");
    expect(embeddedClusterDir("/proj/.sie-fleet", { SIE_FLEET_CLUSTER_DIR: "/tmp/c" })).toBe("/tmp/c");
    expect(embeddedKubeconfigPath("/tmp/c")).toBe("/tmp/c/kubeconfig");
  });
});
