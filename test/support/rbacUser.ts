/**
 * A user of the lane cluster with only the rights deploy/rbac grants: a client certificate from
 * the cluster's CA (cluster/certs.ts; CN = user, O = groups) in a kubeconfig of its own, and the
 * repository's operator manifests applied for one release with that user as their subject.
 *
 *   const user = mintUserKubeconfig(fx.cluster, "alice", dir);
 *   const grant = await applyOperatorRbac(fx.kubeConfig, { namespace, fullname, user: "alice" });
 *   ...                                     // run sie-fleet with user.kubeconfigPath
 *   await grant.remove();                   // cluster-scoped objects; the Role goes with the namespace
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { REPO_ROOT } from "../../core/paths.js";
import { issueClientCert, kubeconfig } from "../../cluster/certs.js";
import type { ClusterInfo } from "../../cluster/daemonState.js";

export const RBAC_DIR = path.join(REPO_ROOT, "deploy", "rbac");
/** The names the shipped manifests use, which a user replaces with the stack's. */
const PLACEHOLDER = { namespace: "sie", fullname: "sie-sie-cluster" };

export interface UserKubeconfig {
  user: string;
  /** The kubeconfig as text (JSON), certificates embedded. */
  kubeconfig: string;
  kubeconfigPath: string;
}

/** A kubeconfig for `user` (in `groups`) on the lane cluster, written to `<dir>/<user>.kubeconfig`. */
export function mintUserKubeconfig(cluster: ClusterInfo, user: string, dir: string, groups: readonly string[] = []): UserKubeconfig {
  const cert = issueClientCert(path.join(cluster.dir, "pki"), { name: user, user, groups }, dir);
  const text = kubeconfig(cluster.server, path.join(cluster.dir, "pki", "ca.crt"), cert, user);
  const kubeconfigPath = path.join(dir, `${user}.kubeconfig`);
  fs.writeFileSync(kubeconfigPath, text, { mode: 0o600 });
  return { user, kubeconfig: text, kubeconfigPath };
}

type Manifest = k8s.KubernetesObject & Record<string, any>;

/**
 * Manifests of deploy/rbac for one release, bound to `user`, as a person would edit them: the
 * namespace and fullname replaced, the subject set. Cluster-scoped objects get the namespace in
 * their name, so parallel tests do not share them.
 */
export function rbacManifests(files: readonly string[], o: { namespace: string; fullname: string; user: string }): Manifest[] {
  const docs = files.flatMap((f) => yaml.loadAll(fs.readFileSync(path.join(RBAC_DIR, f), "utf8")).filter(Boolean) as Manifest[]);
  const clusterRole = `sie-fleet-operator-${o.namespace}`;
  return docs.map((d) => {
    if (d.metadata?.namespace) d.metadata.namespace = o.namespace;
    if (d.kind === "ClusterRole" || d.kind === "ClusterRoleBinding") d.metadata!.name = clusterRole;
    if (d.kind === "ClusterRoleBinding") d.roleRef.name = clusterRole;
    if (d.subjects) d.subjects = [{ kind: "User", name: o.user, apiGroup: "rbac.authorization.k8s.io" }];
    for (const r of (d.rules ?? []) as k8s.V1PolicyRule[]) {
      if (r.resourceNames) r.resourceNames = r.resourceNames.map((n) => n.replace(PLACEHOLDER.fullname, o.fullname));
    }
    return d;
  });
}

export interface Grant {
  manifests: Manifest[];
  /** The applied Role, to take a rule away or give it back (replace). */
  role(): Promise<k8s.V1Role>;
  replaceRole(role: k8s.V1Role): Promise<void>;
  /** Deletes the cluster-scoped objects (the namespaced ones go with the namespace). */
  remove(): Promise<void>;
}

/** Applies the operator manifests (operator-role.yaml, operator-clusterrole.yaml) with the admin client `kc`. */
export async function applyOperatorRbac(kc: k8s.KubeConfig, o: { namespace: string; fullname: string; user: string }): Promise<Grant> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const manifests = rbacManifests(["operator-role.yaml", "operator-clusterrole.yaml"], o);
  for (const m of manifests) await objects.create(m);
  const roleName = manifests.find((m) => m.kind === "Role")?.metadata?.name ?? "";
  return {
    manifests,
    role: () => rbac.readNamespacedRole({ name: roleName, namespace: o.namespace }),
    async replaceRole(role) {
      await rbac.replaceNamespacedRole({ name: roleName, namespace: o.namespace, body: role });
    },
    async remove() {
      for (const m of manifests.filter((x) => !x.metadata?.namespace)) await objects.delete(m).catch(() => undefined);
    },
  };
}

/** Applies deploy/rbac/deployer-role.yaml (namespaced only: it goes with the namespace) with the admin client `kc`. */
export async function applyDeployerRbac(kc: k8s.KubeConfig, o: { namespace: string; fullname: string; user: string }): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const m of rbacManifests(["deployer-role.yaml"], o)) await objects.create(m);
}

/** Whether `kc`'s user may `verb` the resource (SelfSubjectAccessReview: the API server's own answer). */
export async function canI(kc: k8s.KubeConfig, a: { verb: string; group: string; resource: string; namespace?: string; name?: string }): Promise<boolean> {
  const [resource, subresource] = a.resource.split("/", 2);
  const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          verb: a.verb,
          group: a.group,
          resource,
          ...(subresource ? { subresource } : {}),
          ...(a.namespace ? { namespace: a.namespace } : {}),
          ...(a.name ? { name: a.name } : {}),
        },
      },
    },
  });
  return review.status?.allowed === true;
}
