import { findType, RESOURCE_TYPES, type ResourceType } from "../resources.js";

export interface ResourcePath {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parses `/api/v1/...` and `/apis/{group}/{version}/...` resource paths, including cluster-wide
 * lists of namespaced types (`/apis/apps/v1/statefulsets`). Returns undefined for anything else.
 */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 3) {
    group = "";
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === "apis" && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;

  if (rest[0] === "namespaces" && rest.length >= 3) {
    const t = findType(group, version, rest[2]!);
    if (t && t.namespaced) {
      if (rest.length > 5) return undefined;
      return { type: t, namespace: rest[1]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest[4] ? { subresource: rest[4] } : {}) };
    }
  }
  const t = findType(group, version, rest[0]!);
  if (!t || rest.length > 3) return undefined;
  if (t.namespaced && rest.length > 1) return undefined;
  return { type: t, ...(rest[1] ? { name: rest[1] } : {}), ...(rest[2] ? { subresource: rest[2] } : {}) };
}

export function groupsServed(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const t of RESOURCE_TYPES) {
    if (t.group === "") continue;
    const vs = m.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    m.set(t.group, vs);
  }
  return m;
}
