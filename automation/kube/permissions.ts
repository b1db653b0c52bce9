/**
 * Every Kubernetes permission sie-fleet's own calls need (the engine, not `pulumi up`: that is the
 * deployer's, docs/rbac.md). deploy/rbac/ grants exactly these; a unit test checks the manifests
 * against this table and an engine test asks the API server (SelfSubjectAccessReview) whether a
 * user bound to the manifests holds each one. Add a row here when a new call is added to api.ts.
 */

import { sieService } from "../../core/workloads.js";
import { proxyName } from "./apiProxy.js";

/** Where a permission applies: the release namespace, the whole cluster, or the in-cluster Prometheus's namespace. */
export type PermissionScope = "release" | "cluster" | "prometheus";

export interface EnginePermission {
  scope: PermissionScope;
  /** API group, "" for the core group. */
  group: string;
  /** As RBAC names it, subresource included: "services/proxy". */
  resource: string;
  verbs: readonly string[];
  /** Only these objects (RBAC resourceNames), from the release's names; undefined = any. */
  names?: (release: ReleaseObjects) => string[];
  /** The commands and steps that make the calls. */
  why: string;
}

export interface ReleaseObjects {
  /** The release's fullname (stack output `fullname`). */
  fullname: string;
  /** The Service of monitoring.prometheus.service as its proxy URL names it (`<service>:<port>`), if any. */
  prometheusService?: string;
}

/** The gateway and config Services of the release as the gates' proxy URLs name them (`<service>:http`). */
const proxiedServices = (r: ReleaseObjects): string[] =>
  (["gateway", "config"] as const).map((c) => proxyName(sieService({ namespace: "", fullname: r.fullname }, c)));

export const ENGINE_PERMISSIONS: readonly EnginePermission[] = [
  {
    scope: "release",
    group: "",
    resource: "namespaces",
    verbs: ["get"],
    why: "upgrade, rollback, preview --to: the reachability check before anything changes",
  },
  {
    scope: "release",
    group: "apps",
    resource: "statefulsets",
    verbs: ["get"],
    why: "status, verify; upgrade, rollback, recover: rollout gates, holds, capacity, probes, digests",
  },
  {
    scope: "release",
    group: "apps",
    resource: "deployments",
    verbs: ["get"],
    why: "status, verify; upgrade, rollback, recover: rollout gates, holds, digests",
  },
  {
    scope: "release",
    group: "apps",
    resource: "statefulsets",
    verbs: ["patch"],
    why: "upgrade, rollback, recover: hold workers by partition, release them wave by wave; scale a pool at 0 to its probe worker and back",
  },
  {
    scope: "release",
    group: "apps",
    resource: "deployments",
    verbs: ["patch"],
    why: "upgrade, rollback, recover: pause and resume the gateway and config rollouts",
  },
  {
    scope: "release",
    group: "apps",
    resource: "replicasets",
    verbs: ["list"],
    why: "verify, upgrade: the pods of a Deployment's new revision (images, digests)",
  },
  {
    scope: "release",
    group: "apps",
    resource: "daemonsets",
    verbs: ["get"],
    why: "upgrade, rollback, preview --to: each pool's image pre-pull DaemonSet, which its wave waits for",
  },
  {
    scope: "release",
    group: "",
    resource: "pods",
    verbs: ["list"],
    why: "verify, upgrade, rollback, support-bundle: worker pods, their images, readiness and revisions",
  },
  {
    scope: "release",
    group: "",
    resource: "pods",
    verbs: ["delete"],
    why: "revert: pods stuck on the bad revision, so the StatefulSet recreates them reverted",
  },
  {
    scope: "release",
    group: "coordination.k8s.io",
    resource: "leases",
    verbs: ["get", "create", "update", "delete"],
    why: "status (get): who holds the stack; upgrade, rollback, recover, preview --to: the stack's lock",
  },
  {
    scope: "release",
    group: "",
    resource: "configmaps",
    verbs: ["get", "list", "create", "patch", "delete"],
    why: "status, history (get, list): the shared run journal; changing commands write it and prune old runs",
  },
  {
    scope: "release",
    group: "keda.sh",
    resource: "scaledobjects",
    verbs: ["get", "list", "patch"],
    why: "status, verify, preflight (list, get): KEDA's state; upgrade, rollback, recover (patch): freeze and thaw autoscaling, the probe worker",
  },
  { scope: "release", group: "", resource: "events", verbs: ["list"], why: "support-bundle: the namespace's recent events" },
  {
    scope: "release",
    group: "",
    resource: "services/proxy",
    verbs: ["get", "create"],
    names: proxiedServices,
    why: "verify, upgrade gates: the gateway's and config service's health and sample requests through the API server (create = POST)",
  },
  {
    scope: "cluster",
    group: "",
    resource: "nodes",
    verbs: ["list"],
    why: "upgrade, rollback, preview --to: the capacity preflight (optional: without it the check is skipped with a warning)",
  },
  {
    scope: "cluster",
    group: "",
    resource: "pods",
    verbs: ["list"],
    why: "capacity preflight: the requests of every pod on the pools' nodes, any namespace (optional as above)",
  },
  {
    scope: "cluster",
    group: "karpenter.sh",
    resource: "nodepools",
    verbs: ["list"],
    why: "capacity preflight on platforms existing and local: room Karpenter's NodePools can add for a pool (optional: without it none is counted)",
  },
  {
    scope: "prometheus",
    group: "",
    resource: "services/proxy",
    verbs: ["get", "create"],
    names: (r) => (r.prometheusService ? [r.prometheusService] : []),
    why: "metric gates with monitoring.prometheus.service: PromQL queries through the API server (create = POST)",
  },
];
