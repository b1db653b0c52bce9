// deploy/rbac grants exactly what the engine's calls need (automation/kube/permissions.ts): every
// permission of the table, and nothing the table does not list. The engine test
// (test/engine/rbac.test.ts) then asks a real API server whether a user bound to them holds each.
import * as fs from "node:fs";
import * as path from "node:path";
import type { V1PolicyRule } from "@kubernetes/client-node";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { RBAC_MANIFESTS } from "../../core/forbidden.js";
import { ENGINE_PERMISSIONS, type PermissionScope } from "../../automation/kube/permissions.js";

/** The names the shipped manifests are written for. */
const RELEASE = { fullname: "sie-sie-cluster", prometheusService: "prometheus-operated:9090" };
type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: V1PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: unknown[];
};
const load = (file: string): Doc[] => yaml.loadAll(fs.readFileSync(path.join(REPO_ROOT, file), "utf8")).filter(Boolean) as Doc[];

const FILES: Record<PermissionScope, string> = {
  release: RBAC_MANIFESTS.namespaced,
  cluster: RBAC_MANIFESTS.cluster,
  prometheus: "deploy/rbac/prometheus-proxy-role.yaml",
};
const rulesOf = (scope: PermissionScope): V1PolicyRule[] => load(FILES[scope]).flatMap((d) => (d.kind.endsWith("Role") ? (d.rules ?? []) : []));

describe("deploy/rbac", () => {
  it.each(ENGINE_PERMISSIONS.map((p) => [`${p.scope}: ${p.verbs.join(",")} ${p.resource}${p.group ? `.${p.group}` : ""}`, p] as const))("grants %s", (_, p) => {
    for (const verb of p.verbs) {
      const names = p.names?.(RELEASE) ?? [undefined];
      for (const name of names) {
        const granted = rulesOf(p.scope).some(
          (r) =>
            r.apiGroups?.includes(p.group) &&
            r.resources?.includes(p.resource) &&
            r.verbs.includes(verb) &&
            (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))),
        );
        expect(granted, `${verb} ${p.resource} ${name ?? ""} in ${FILES[p.scope]}`).toBe(true);
      }
    }
  });

  it("grants nothing the engine does not use (least privilege)", () => {
    for (const scope of Object.keys(FILES) as PermissionScope[]) {
      for (const r of rulesOf(scope)) {
        for (const group of r.apiGroups ?? []) {
          for (const resource of r.resources ?? []) {
            for (const verb of r.verbs) {
              const used = ENGINE_PERMISSIONS.some((p) => p.scope === scope && p.group === group && p.resource === resource && p.verbs.includes(verb));
              expect(used, `${FILES[scope]} grants ${verb} ${resource} (group "${group}"), which automation/kube/permissions.ts does not list`).toBe(true);
            }
          }
        }
        // Never a wildcard.
        expect([...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]).not.toContain("*");
      }
    }
  });

  it("each binding binds its file's role to the same placeholder subject, the ServiceAccount sie-fleet of the release namespace", () => {
    const sa = load("deploy/rbac/operator-serviceaccount.yaml")[0]!;
    expect(sa).toMatchObject({ kind: "ServiceAccount", metadata: { name: "sie-fleet", namespace: "sie" } });
    for (const file of Object.values(FILES)) {
      const docs = load(file);
      const role = docs.find((d) => d.kind === "Role" || d.kind === "ClusterRole")!;
      const binding = docs.find((d) => d.kind.endsWith("Binding"))!;
      expect(binding.roleRef, file).toMatchObject({ kind: role.kind, name: role.metadata.name });
      expect(binding.subjects, file).toEqual([{ kind: "ServiceAccount", name: "sie-fleet", namespace: "sie" }]);
    }
  });

  it("the deployer's manifest binds admin in the release namespace (never cluster-wide) and its own Role to the same subject", () => {
    const docs = load("deploy/rbac/deployer-role.yaml");
    const bindings = docs.filter((d) => d.kind === "RoleBinding");
    expect(docs.map((d) => d.kind).sort()).toEqual(["Role", "RoleBinding", "RoleBinding"]);
    expect(bindings.map((b) => b.roleRef).sort((a, b) => a!.kind.localeCompare(b!.kind))).toMatchObject([
      { kind: "ClusterRole", name: "admin" },
      { kind: "Role", name: "sie-fleet-deployer" },
    ]);
    for (const d of docs) expect(d.metadata.namespace).toBe("sie");
    for (const b of bindings) expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: "sie-fleet", namespace: "sie" }]);
    for (const r of docs.flatMap((d) => d.rules ?? [])) expect([...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]).not.toContain("*");
  });
});
