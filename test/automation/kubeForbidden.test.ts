// A 403 from the API server becomes one error naming the verb, resource and namespace to grant and
// where the rule is (exit 3). The client half runs the real @kubernetes/client-node against a
// local HTTP server answering with the Status object an API server sends.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_CODES, KubeApiError, KubeForbiddenError, toSieFleetError } from "../../core/errors.js";
import { KubeClient } from "../../automation/kube/index.js";
import { parseForbidden } from "../../core/forbidden.js";

/** The Status body kube-apiserver writes for a request RBAC denies. */
function forbiddenStatus(o: { kind: string; group?: string; name?: string; message: string }) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: o.message,
    reason: "Forbidden",
    details: { ...(o.name ? { name: o.name } : {}), ...(o.group ? { group: o.group } : {}), kind: o.kind },
    code: 403,
  };
}

const PROXY = forbiddenStatus({
  kind: "services",
  name: "sie-sie-cluster-gateway:8080",
  message: 'services "sie-sie-cluster-gateway:8080" is forbidden: User "ci-bot" cannot get resource "services/proxy" in API group "" in the namespace "sie"',
});
const PATCH_STS = forbiddenStatus({
  kind: "statefulsets",
  group: "apps",
  name: "sie-sie-cluster-worker-l4",
  message:
    'statefulsets.apps "sie-sie-cluster-worker-l4" is forbidden: User "ci-bot" cannot patch resource "statefulsets" in API group "apps" in the namespace "sie"',
});
const LIST_NODES = forbiddenStatus({
  kind: "nodes",
  message: 'nodes is forbidden: User "ci-bot" cannot list resource "nodes" in API group "" at the cluster scope',
});

describe("parseForbidden", () => {
  it("reads verb, resource with its subresource, group, namespace and name from the Status", () => {
    expect(parseForbidden(JSON.stringify(PROXY))).toEqual({
      user: "ci-bot",
      verb: "get",
      resource: "services/proxy",
      group: "",
      namespace: "sie",
      name: "sie-sie-cluster-gateway:8080",
    });
    expect(parseForbidden(PATCH_STS)).toMatchObject({ verb: "patch", resource: "statefulsets", group: "apps", namespace: "sie" });
  });

  it("a cluster-scoped request has no namespace", () => {
    const d = parseForbidden(LIST_NODES);
    expect(d).toEqual({ user: "ci-bot", verb: "list", resource: "nodes", group: "" });
  });

  it("a Forbidden Status whose message has another shape still names the resource", () => {
    expect(parseForbidden({ ...PATCH_STS, message: "denied by policy" })).toEqual({
      resource: "statefulsets",
      group: "apps",
      name: "sie-sie-cluster-worker-l4",
    });
  });

  it("finds the authorizer's sentence inside other text (a Pulumi or helm error line)", () => {
    const line =
      'kubernetes:helm.sh/v3:Release resource \'sie-cluster\': query: failed to query with labels: secrets is forbidden: User "ci-bot" cannot list resource "secrets" in API group "" in the namespace "sie"';
    expect(parseForbidden(line)).toEqual({ user: "ci-bot", verb: "list", resource: "secrets", group: "", namespace: "sie" });
  });

  it("anything else is not a refusal", () => {
    expect(
      parseForbidden({ kind: "Status", reason: "NotFound", message: 'statefulsets.apps "x" not found', details: { kind: "statefulsets" } }),
    ).toBeUndefined();
    expect(parseForbidden("upstream connect error")).toBeUndefined();
    expect(parseForbidden(undefined)).toBeUndefined();
  });
});

describe("a 403 through the Kubernetes client", () => {
  let server: http.Server;
  let kube: KubeClient;
  /** The body the fake API server answers with next (status 403). */
  let answer: unknown;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(403, { "content-type": typeof answer === "string" ? "text/plain" : "application/json" });
      res.end(typeof answer === "string" ? answer : JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const kubeconfig = JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "not-a-real-token" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    });
    kube = KubeClient.fromKubeconfig({ kubeconfig });
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  async function refused(run: () => Promise<unknown>): Promise<KubeForbiddenError> {
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeForbiddenError);
    return err as KubeForbiddenError;
  }

  it("a denied patch: exit 3, code kube-forbidden, one message naming verb, resource, namespace and the manifest", async () => {
    answer = PATCH_STS;
    const err = await refused(() => kube.api.mergePatchStatefulSet("sie", "sie-sie-cluster-worker-l4", { spec: { updateStrategy: {} } }));
    expect(err.exitCode).toBe(EXIT_CODES.stack);
    expect(err.code).toBe("kube-forbidden");
    expect(err.message).toBe(
      'Kubernetes RBAC: user "ci-bot" may not patch statefulsets.apps "sie-sie-cluster-worker-l4" in namespace sie ' +
        "(needed to patch statefulset sie/sie-sie-cluster-worker-l4); grant patch on statefulsets.apps in namespace sie — see deploy/rbac/operator-role.yaml, docs/rbac.md",
    );
    expect(err.hint).toContain('{ apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["patch"] }');
    expect(err.details).toMatchObject({ operation: "patch statefulset sie/sie-sie-cluster-worker-l4", status: 403, denied: { verb: "patch" } });
    // Still a KubeApiError with its status: callers that tolerate a missing permission keep working.
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.status).toBe(403);
    // The CLI's mapping passes it through unchanged (not "cluster unreachable", not internal).
    expect(toSieFleetError(err)).toBe(err);
  });

  it("a denied cluster-scoped read points at the ClusterRole", async () => {
    answer = LIST_NODES;
    const err = await refused(() => kube.api.listNodes());
    expect(err.message).toBe(
      'Kubernetes RBAC: user "ci-bot" may not list nodes at the cluster scope (needed to list nodes); grant list on nodes at the cluster scope — see deploy/rbac/operator-clusterrole.yaml, docs/rbac.md',
    );
  });

  it("a denied custom resource names its group", async () => {
    answer = forbiddenStatus({
      kind: "scaledobjects",
      group: "keda.sh",
      message: 'scaledobjects.keda.sh is forbidden: User "ci-bot" cannot list resource "scaledobjects" in API group "keda.sh" in the namespace "sie"',
    });
    const err = await refused(() => kube.api.listCustomObjects({ group: "keda.sh", version: "v1alpha1", plural: "scaledobjects" }, "sie"));
    expect(err.message).toMatch(
      /may not list scaledobjects\.keda\.sh in namespace sie \(needed to list scaledobjects\.keda\.sh in sie\); grant list on scaledobjects\.keda\.sh/,
    );
  });

  it("a 403 without a Status (a proxy in front of the API server) is still the same error, naming the operation", async () => {
    answer = "forbidden by the corporate proxy";
    const err = await refused(() => kube.api.getLease("sie", "sie-fleet-lock-dev"));
    expect(err.exitCode).toBe(EXIT_CODES.stack);
    expect(err.message).toBe(
      "Kubernetes RBAC: the cluster refused to read lease sie/sie-fleet-lock-dev (HTTP 403, no permission named); grant it to the kubeconfig's user — see docs/rbac.md",
    );
  });
});

describe("a refusal quoted by Pulumi (the deployer's rights)", () => {
  it("becomes the same kind of error (exit 3) pointing at the deployer section, not an internal error", () => {
    const err = new Error(
      [
        "code: 255",
        " stdout: Previewing update (dev):",
        " stderr: Command failed with exit code 255: /home/u/.pulumi/bin/pulumi preview --stack dev --non-interactive",
        'error: kubernetes:helm.sh/v3:Release resource \'sie-cluster\' has a problem: secrets is forbidden: User "ci-bot" cannot list resource "secrets" in API group "" in the namespace "sie"',
        " err?: ",
      ].join("\n"),
    );
    err.name = "CommandError";
    const e = toSieFleetError(err);
    expect(e.exitCode).toBe(EXIT_CODES.stack);
    expect(e.code).toBe("kube-forbidden");
    expect(e.message).toBe(
      'Kubernetes RBAC: user "ci-bot" may not list secrets in namespace sie (needed to run pulumi preview for stack dev); grant list on secrets in namespace sie — see deploy/rbac/deployer-role.yaml, docs/rbac.md ("Deployer": pulumi applies the chart\'s objects)',
    );
  });
});
