/**
 * What the API server refused, read from its 403. The answer is a Status object (`reason:
 * Forbidden`, `details.kind` = the resource, `details.group`) whose message the authorizer writes
 * in one fixed shape:
 *
 *   services "sie-gateway:8080" is forbidden: User "alice" cannot get resource "services/proxy"
 *   in API group "" in the namespace "sie"
 *
 * (`at the cluster scope` instead of the namespace for cluster-scoped requests). The message
 * names the subresource and the verb exactly as RBAC checks them, so the fix can name the rule to
 * add. Pure text functions: the Kubernetes client (api.ts) and the Pulumi error mapping
 * (errors.ts) both use them. No imports, so errors.ts can use it without an import cycle.
 */

/** Where the manifests and the permission table live (docs/rbac.md). */
export const RBAC_DOC = "docs/rbac.md";
export const RBAC_MANIFESTS = {
  /** The Role (and RoleBinding) for the release namespace. */
  namespaced: "deploy/rbac/operator-role.yaml",
  /** The ClusterRole (and binding) for cluster-scoped reads. */
  cluster: "deploy/rbac/operator-clusterrole.yaml",
  /** What `pulumi up` needs on top, in the release namespace. */
  deployer: "deploy/rbac/deployer-role.yaml",
} as const;

export interface Denied {
  /** The user the API server saw (certificate CN, token subject); absent if the message did not say. */
  user?: string;
  /** The RBAC verb: get, list, create, update, patch, delete, … */
  verb?: string;
  /** Resource as RBAC names it, with its subresource: "statefulsets", "services/proxy". */
  resource: string;
  /** API group ("" for the core group). */
  group: string;
  /** The namespace of the request; undefined at the cluster scope. */
  namespace?: string;
  /** The object's name when the request named one (for a proxy, as the URL wrote it: "name:port"). */
  name?: string;
}

const FORBIDDEN_MESSAGE = /User "([^"]*)" cannot ([a-z]+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)/;

/**
 * The denied request from a 403 body (the Status object, as JSON text or parsed) or from any text
 * quoting the authorizer's message (a Pulumi or helm error line). Undefined when it is not one.
 */
export function parseForbidden(body: unknown): Denied | undefined {
  const status = asStatus(body);
  const message = status?.message ?? (typeof body === "string" ? body : undefined);
  const m = message ? FORBIDDEN_MESSAGE.exec(message) : null;
  const name = status?.details?.name;
  if (m) {
    return {
      user: m[1]!,
      verb: m[2]!,
      resource: m[3]!,
      group: m[4]!,
      ...(m[5] ? { namespace: m[5] } : {}),
      ...(name ? { name } : {}),
    };
  }
  // An authorizer message of another shape: the Status still names the resource.
  if (status?.reason === "Forbidden" && status.details?.kind) {
    return { resource: status.details.kind, group: status.details.group ?? "", ...(name ? { name } : {}) };
  }
  return undefined;
}

/** "statefulsets.apps", "services/proxy", "scaledobjects.keda.sh". */
export function qualifiedResource(d: Pick<Denied, "resource" | "group">): string {
  if (!d.group) return d.resource;
  const [res, sub] = d.resource.split("/", 2);
  return `${res}.${d.group}${sub ? `/${sub}` : ""}`;
}

/** "in namespace sie" or "at the cluster scope". */
export function scopeText(d: Pick<Denied, "namespace">): string {
  return d.namespace ? `in namespace ${d.namespace}` : "at the cluster scope";
}

/** The RBAC rule that would allow the request, as it would be written in a Role. */
export function missingRule(d: Denied): string {
  if (!d.resource) return "that the request needs";
  return `{ apiGroups: ["${d.group}"], resources: ["${d.resource}"], verbs: ["${d.verb ?? "<the verb above>"}"] }`;
}

/** Where the fix is for a request the engine itself made: the manifest for its scope, and the table. */
export function operatorManifests(d: Pick<Denied, "namespace" | "resource">): string {
  if (!d.resource) return RBAC_DOC;
  return `${d.namespace ? RBAC_MANIFESTS.namespaced : RBAC_MANIFESTS.cluster}, ${RBAC_DOC}`;
}

/**
 * One sentence for the refused request: who may not do what where, what it was for, and where the
 * rule that grants it is. `purpose` is the operation that was refused (e.g. "patch statefulset
 * sie/x"); `see` names the manifest or section (default: the operator's manifests).
 */
export function forbiddenText(d: Denied, purpose: string, see = operatorManifests(d)): string {
  if (!d.resource) {
    return `Kubernetes RBAC: the cluster refused to ${purpose} (HTTP 403, no permission named); grant it to the kubeconfig's user — see ${see}`;
  }
  const who = d.user ? `user "${d.user}"` : "these credentials";
  const what = `${d.verb ?? "access"} ${qualifiedResource(d)}${d.name ? ` "${d.name}"` : ""}`;
  return (
    `Kubernetes RBAC: ${who} may not ${what} ${scopeText(d)} (needed to ${purpose}); ` +
    `grant ${d.verb ?? "it"} on ${qualifiedResource(d)} ${scopeText(d)} — see ${see}`
  );
}

interface StatusLike {
  message?: string;
  reason?: string;
  details?: { kind?: string; group?: string; name?: string };
}

function asStatus(body: unknown): StatusLike | undefined {
  let v = body;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (!v || typeof v !== "object") return undefined;
  const s = v as Record<string, unknown>;
  const details = s["details"] && typeof s["details"] === "object" ? (s["details"] as Record<string, unknown>) : undefined;
  const str = (x: unknown) => (typeof x === "string" && x !== "" ? x : undefined);
  return {
    ...(str(s["message"]) ? { message: str(s["message"])! } : {}),
    ...(str(s["reason"]) ? { reason: str(s["reason"])! } : {}),
    ...(details
      ? {
          details: {
            ...(str(details["kind"]) ? { kind: str(details["kind"])! } : {}),
            ...(str(details["group"]) ? { group: str(details["group"])! } : {}),
            ...(str(details["name"]) ? { name: str(details["name"])! } : {}),
          },
        }
      : {}),
  };
}
