/**
 * The resource types the simulated apiserver knows. One table drives routing, discovery and
 * the kinds written into stored objects, so adding a type is one line.
 */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Subresources served besides the object itself. */
  subresources: readonly ("status" | "scale")[];
  shortNames?: readonly string[];
  singular: string;
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: "", version: "v1", resource: "namespaces", kind: "Namespace", singular: "namespace", namespaced: false, subresources: ["status"], shortNames: ["ns"] },
  { group: "", version: "v1", resource: "nodes", kind: "Node", singular: "node", namespaced: false, subresources: ["status"], shortNames: ["no"] },
  { group: "", version: "v1", resource: "pods", kind: "Pod", singular: "pod", namespaced: true, subresources: ["status"], shortNames: ["po"] },
  { group: "", version: "v1", resource: "services", kind: "Service", singular: "service", namespaced: true, subresources: ["status"], shortNames: ["svc"] },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", singular: "configmap", namespaced: true, subresources: [], shortNames: ["cm"] },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", singular: "secret", namespaced: true, subresources: [] },
  { group: "", version: "v1", resource: "serviceaccounts", kind: "ServiceAccount", singular: "serviceaccount", namespaced: true, subresources: [], shortNames: ["sa"] },
  { group: "", version: "v1", resource: "events", kind: "Event", singular: "event", namespaced: true, subresources: [], shortNames: ["ev"] },
  { group: "apps", version: "v1", resource: "deployments", kind: "Deployment", singular: "deployment", namespaced: true, subresources: ["status", "scale"], shortNames: ["deploy"] },
  { group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet", singular: "replicaset", namespaced: true, subresources: ["status", "scale"], shortNames: ["rs"] },
  { group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", singular: "statefulset", namespaced: true, subresources: ["status", "scale"], shortNames: ["sts"] },
  { group: "apps", version: "v1", resource: "controllerrevisions", kind: "ControllerRevision", singular: "controllerrevision", namespaced: true, subresources: [] },
  { group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", singular: "poddisruptionbudget", namespaced: true, subresources: ["status"], shortNames: ["pdb"] },
  { group: "keda.sh", version: "v1alpha1", resource: "scaledobjects", kind: "ScaledObject", singular: "scaledobject", namespaced: true, subresources: ["status"], shortNames: ["so"] },
  { group: "keda.sh", version: "v1alpha1", resource: "triggerauthentications", kind: "TriggerAuthentication", singular: "triggerauthentication", namespaced: true, subresources: [], shortNames: ["ta"] },
];

export function apiVersionOf(t: ResourceType): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

/** Key used by the store: group/resource, version-independent like etcd keys. */
export function typeKey(t: ResourceType): string {
  return t.group === "" ? t.resource : `${t.resource}.${t.group}`;
}

export function findType(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function typeByKind(kind: string, apiVersion = ""): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.kind === kind && (apiVersion === "" || apiVersionOf(t) === apiVersion));
}

/** The types the sim's own controllers touch, named once so a typo cannot create a new kind. */
export const T = {
  namespaces: RESOURCE_TYPES[0]!,
  nodes: RESOURCE_TYPES[1]!,
  pods: RESOURCE_TYPES[2]!,
  services: RESOURCE_TYPES[3]!,
  configmaps: RESOURCE_TYPES[4]!,
  events: RESOURCE_TYPES[7]!,
  deployments: RESOURCE_TYPES[8]!,
  replicasets: RESOURCE_TYPES[9]!,
  statefulsets: RESOURCE_TYPES[10]!,
  controllerrevisions: RESOURCE_TYPES[11]!,
  scaledobjects: RESOURCE_TYPES[13]!,
} as const;
