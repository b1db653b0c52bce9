// The least-privilege operator (deploy/rbac) on the real API server with RBAC on: a user whose
// client certificate comes from the lane cluster's CA, bound to exactly the shipped manifests,
// holds every permission the engine uses (asked of the API server), runs the read-only commands,
// and a permission taken away is one clear error naming it (exit 3) with the stack untouched. An
// upgrade needs the deployer's rights as well (`pulumi up` applies the chart): refused without
// them, it applies nothing and its failed gate names the missing permission; with them it runs.
//
// The stack is platform kubernetes with its kubeconfig in a file of this test: deployed with the
// admin's credentials (the deployer: `pulumi up` applies the chart's objects, which the operator
// Role does not allow), then that file holds the operator's kubeconfig, as on a CI runner that
// only inspects the stack.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { status } from "../../automation/actions/status.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { EXIT_CODES, KubeForbiddenError } from "../../core/errors.js";
import { loadKubeConfig } from "../../automation/kube/api.js";
import { ENGINE_PERMISSIONS } from "../../automation/kube/permissions.js";
import { readClusterInfo } from "../../cluster/daemonState.js";
import { runCliInProcess } from "../automation/inProcessCli.js";
import { helmHistory } from "../support/helmRelease.js";
import { testClusterDir } from "../support/laneCluster.js";
import { applyDeployerRbac, applyOperatorRbac, canI, mintUserKubeconfig, type Grant, type UserKubeconfig } from "../support/rbacUser.js";
import { holdsLeft, useStackFixture, workloadImages, type StackConfigMap, type StackFixture } from "../support/stackFixture.js";

const lane = () => {
  const info = readClusterInfo(testClusterDir());
  if (!info) throw new Error(`no lane cluster in ${testClusterDir()}`);
  return info;
};

/** The stack's kubeconfig file: the admin's while deploying, the operator's afterwards. */
const kcDir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-rbac-"));
const stackKubeconfig = path.join(kcDir, "kubeconfig");
fs.copyFileSync(lane().kubeconfigPath, stackKubeconfig);

/** The local stack on platform kubernetes, on the lane's shared nodes, with the kubeconfig above. */
function withOwnKubeconfig(c: StackConfigMap): void {
  c["sie-fleet:platform"] = "kubernetes";
  c["sie-fleet:cluster"] = { kubeconfig: stackKubeconfig };
  const pools = c["sie-fleet:pools"];
  pools.l4.nodeSelector = { "sie-fleet/gpu": "l4" };
  pools.a100.nodeSelector = { "sie-fleet/gpu": "a100-40gb" };
  pools.cpu.nodeSelector = { "sie-fleet/gpu": "cpu" };
}

const fixture = useStackFixture({ config: withOwnKubeconfig });

describe("the operator's RBAC (deploy/rbac)", () => {
  let fx: StackFixture;
  let operator: UserKubeconfig;
  let grant: Grant;
  const cli = (args: string[]) => runCliInProcess([...args, "--stack", fx.stack], { cwd: fx.dir, env: { ...fx.ctx.env, CI: "1" } });

  beforeAll(async () => {
    fx = fixture();
    const user = `sie-fleet-operator-${fx.namespace}`;
    operator = mintUserKubeconfig(lane(), user, kcDir);
    grant = await applyOperatorRbac(fx.kubeConfig, { namespace: fx.namespace, fullname: fx.fullname, user });
    fs.writeFileSync(stackKubeconfig, operator.kubeconfig, { mode: 0o600 });
  });
  afterAll(async () => {
    await grant?.remove();
    fs.rmSync(kcDir, { recursive: true, force: true });
  });

  /** Everything a refused or read-only command must leave alone. */
  const untouched = async () => ({
    config: fs.readFileSync(fx.configFile, "utf8"),
    revisions: (await helmHistory(fx)).map((h) => `${h.revision}:${h.status}`),
    images: await workloadImages(fx),
    holds: await holdsLeft(fx),
  });

  it("the API server confirms every permission the engine uses (SelfSubjectAccessReview as the operator)", async () => {
    const kc = loadKubeConfig({ kubeconfigPath: operator.kubeconfigPath });
    const missing: string[] = [];
    for (const p of ENGINE_PERMISSIONS.filter((x) => x.scope !== "prometheus")) {
      const namespace = p.scope === "release" ? fx.namespace : undefined;
      const names = p.names?.({ fullname: fx.fullname }) ?? [p.resource === "namespaces" ? fx.namespace : undefined];
      for (const verb of p.verbs)
        for (const name of names) {
          const attrs = { verb, group: p.group, resource: p.resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
          if (!(await canI(kc, attrs))) missing.push(JSON.stringify(attrs));
        }
    }
    expect(missing).toEqual([]);
    // And no more than that: not the Secrets (Helm's release records), not another namespace.
    expect(await canI(kc, { verb: "list", group: "", resource: "secrets", namespace: fx.namespace })).toBe(false);
    expect(await canI(kc, { verb: "patch", group: "apps", resource: "statefulsets", namespace: "default" })).toBe(false);
    expect(await canI(kc, { verb: "get", group: "", resource: "services/proxy", namespace: fx.namespace, name: "some-other-service" })).toBe(false);
  });

  it("status and history answer with the operator's kubeconfig, library and CLI alike, and change nothing", async () => {
    const before = await untouched();
    const report = await status({ stack: fx.stack }, fx.ctx);
    expect(report.workloads.length).toBeGreaterThanOrEqual(5);
    expect(report.workloads.every((w) => w.done)).toBe(true);
    expect(report.scaledObjects?.length).toBe(3);

    const st = await cli(["status"]);
    expect(st.code, st.stderr).toBe(EXIT_CODES.ok);
    expect(st.stdout).toContain(`${fx.fullname}-worker-l4`);

    const h = await history({ stack: fx.stack }, fx.ctx);
    expect(h.length).toBeGreaterThanOrEqual(1);
    const hc = await cli(["history"]);
    expect(hc.code, hc.stderr).toBe(EXIT_CODES.ok);
    // The shared journal was readable: no fallback to this machine's journals.
    expect(hc.stderr).not.toMatch(/could not be read/);
    expect(await untouched()).toEqual(before);
  });

  it("a permission taken away (list on ScaledObjects): one error naming verb, resource, namespace and the manifest, exit 3, stack untouched", async () => {
    const role = await grant.role();
    const withoutList = structuredClone(role);
    for (const r of withoutList.rules ?? []) if (r.apiGroups?.includes("keda.sh")) r.verbs = r.verbs.filter((v) => v !== "list");
    await grant.replaceRole(withoutList);
    try {
      const before = await untouched();
      const err = await status({ stack: fx.stack }, fx.ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KubeForbiddenError);
      expect((err as KubeForbiddenError).denied).toMatchObject({ verb: "list", resource: "scaledobjects", group: "keda.sh", namespace: fx.namespace });

      const r = await cli(["status"]);
      expect(r.code, r.stderr).toBe(EXIT_CODES.stack);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      expect(errors).toEqual([
        `error: Kubernetes RBAC: user "${operator.user}" may not list scaledobjects.keda.sh in namespace ${fx.namespace} ` +
          `(needed to list scaledobjects.keda.sh in ${fx.namespace}); grant list on scaledobjects.keda.sh in namespace ${fx.namespace} — see deploy/rbac/operator-role.yaml, docs/rbac.md`,
      ]);
      expect(r.stderr).toContain('{ apiGroups: ["keda.sh"], resources: ["scaledobjects"], verbs: ["list"] }');
      const json = await cli(["status", "--json"]);
      expect(json.code).toBe(EXIT_CODES.stack);
      expect(json.stdout).toContain('"code":"kube-forbidden"');
      expect(await untouched()).toEqual(before);
    } finally {
      await grant.replaceRole({ ...role, metadata: { ...role.metadata, resourceVersion: undefined } });
    }
    expect((await cli(["status"])).code).toBe(EXIT_CODES.ok);
  });

  it("preview --to (the upgrade's dry run: lock, journal, preflight, pulumi preview) works with the operator role alone", async () => {
    const before = await untouched();
    const r = await cli(["preview", "--to", "v0.3.2"]);
    expect(r.code, r.stderr.slice(-3000)).toBe(EXIT_CODES.ok);
    expect(r.stdout).toMatch(/1 to update/);
    expect(await untouched()).toEqual(before);
  });

  it("services/proxy taken away: the upgrade is refused in preflight (exit 3, kube-forbidden) naming the permission, before any change", async () => {
    const role = await grant.role();
    const withoutProxy = structuredClone(role);
    withoutProxy.rules = (withoutProxy.rules ?? []).filter((r) => !r.resources?.includes("services/proxy"));
    await grant.replaceRole(withoutProxy);
    try {
      const before = await untouched();
      const r = await cli(["upgrade", "--to", "v0.3.2", "--yes"]);
      expect(r.code, r.stdout.slice(-3000) + r.stderr.slice(-3000)).toBe(EXIT_CODES.stack);
      expect(r.stdout + r.stderr).toMatch(
        new RegExp(`user "${operator.user}" may not get services/proxy "${fx.fullname}-(gateway|config):http" in namespace ${fx.namespace}`),
      );
      expect(await untouched()).toEqual(before);
    } finally {
      await grant.replaceRole({ ...role, metadata: { ...role.metadata, resourceVersion: undefined } });
    }
  });

  it("an upgrade with the operator role alone: pulumi up is refused (the deployer's rights), the gate names the missing permission, nothing was applied", async () => {
    const before = await untouched();
    const r = await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
    expect(r.outcome, JSON.stringify(r).slice(0, 3000)).toBe("reverted");
    if (r.outcome !== "reverted") throw new Error("not reverted");
    expect(r.failedGate.name).toBe("rbac");
    expect(r.failedGate.message).toBe(
      `Kubernetes RBAC: user "${operator.user}" may not list secrets in namespace ${fx.namespace} (needed to run pulumi up for stack ${fx.stack}); ` +
        `grant list on secrets in namespace ${fx.namespace} — see deploy/rbac/deployer-role.yaml, docs/rbac.md ("Deployer": pulumi applies the chart's objects)`,
    );
    expect(await untouched()).toEqual(before);
  });

  it("with the shipped deployer role as well (deploy/rbac/deployer-role.yaml) the same kubeconfig upgrades", async () => {
    await applyDeployerRbac(fx.kubeConfig, { namespace: fx.namespace, fullname: fx.fullname, user: operator.user });
    const r = await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
    expect(r.outcome, JSON.stringify(r).slice(0, 3000)).toBe("succeeded");
    expect((await helmHistory(fx)).map((h) => h.status)).toEqual(["superseded", "deployed"]);
  });
});
