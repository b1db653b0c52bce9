import type { Json, KObject } from "../store.js";
import { apiVersionOf, T, type ResourceType } from "../resources.js";
import type { SimContext } from "../context.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import { parseFieldSelector, parseLabelSelector, fromLabelSelector, selectorToString } from "./selectors.js";
import { applyPatch, patchKindOf } from "./patch.js";
import { applyDefaults, validate } from "./defaults.js";
import type { ResourcePath } from "./path.js";
import { deletePodGracefully } from "../controllers/workload.js";

export interface ApiRequest {
  method: string;
  path: ResourcePath;
  query: URLSearchParams;
  contentType?: string;
  body: string;
}

export interface ApiResponse {
  code: number;
  body: unknown;
}

function parseJson(body: string): Json {
  try {
    return JSON.parse(body);
  } catch {
    throw badRequest("the request body is not valid JSON");
  }
}

function listKind(t: ResourceType): string {
  return `${t.kind}List`;
}

/** CRUD for one resource path, with the apiserver's status codes and subresource rules. */
export async function handleResource(ctx: SimContext, req: ApiRequest): Promise<ApiResponse> {
  const { type: t, namespace: ns, name, subresource } = req.path;
  if (subresource && !(t.subresources as readonly string[]).includes(subresource)) {
    throw new ApiError("NotFound", `the server could not find the requested resource`);
  }
  if (ns && t !== T.namespaces && !ctx.store.get(T.namespaces, undefined, ns) && req.method !== "GET") {
    throw notFound("", "namespaces", ns);
  }
  if (!name) return collection(ctx, req);
  switch (req.method) {
    case "GET": {
      const o = ctx.store.mustGet(t, ns, name);
      return { code: 200, body: subresource === "scale" ? toScale(o) : o };
    }
    case "PUT":
      return replace(ctx, req, parseJson(req.body));
    case "PATCH":
      return patch(ctx, req, req.contentType && patchKindOf(req.contentType) === "apply" ? await parseApplyBody(req.body) : undefined);
    case "DELETE":
      return remove(ctx, t, ns, name, req);
    default:
      throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
  }
}

function collection(ctx: SimContext, req: ApiRequest): ApiResponse {
  const { type: t, namespace: ns } = req.path;
  if (req.method === "GET" || req.method === "DELETE") {
    const sel = parseLabelSelector(req.query.get("labelSelector"));
    const fieldOk = parseFieldSelector(req.query.get("fieldSelector"));
    const items = ctx.store.list(t, ns, sel).filter(fieldOk);
    if (req.method === "DELETE") {
      const deleted = items.map((o) => remove(ctx, t, o.metadata.namespace, o.metadata.name, req).body);
      return { code: 200, body: { kind: listKind(t), apiVersion: apiVersionOf(t), metadata: { resourceVersion: ctx.store.resourceVersion }, items: deleted } };
    }
    return { code: 200, body: { kind: listKind(t), apiVersion: apiVersionOf(t), metadata: { resourceVersion: ctx.store.resourceVersion }, items } };
  }
  if (req.method === "POST") {
    const o = parseJson(req.body) as KObject;
    return { code: 201, body: create(ctx, t, ns, o) };
  }
  throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
}

function checkKind(t: ResourceType, o: KObject): void {
  if (!o || typeof o !== "object") throw badRequest("the request body must be an object");
  if (o.kind && o.kind !== t.kind) throw badRequest(`the kind in the body (${o.kind}) does not match the URL (${t.kind})`);
  if (o.apiVersion && o.apiVersion !== apiVersionOf(t)) {
    throw badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
  }
}

function checkNamespace(t: ResourceType, ns: string | undefined, o: KObject): void {
  o.metadata ??= {} as KObject["metadata"];
  if (!t.namespaced) return;
  if (o.metadata.namespace && ns && o.metadata.namespace !== ns) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  if (ns) o.metadata.namespace = ns;
}

export function create(ctx: SimContext, t: ResourceType, ns: string | undefined, o: KObject): KObject {
  checkKind(t, o);
  checkNamespace(t, ns, o);
  if (t.namespaced && !o.metadata.namespace) throw badRequest("a namespace is required for this resource");
  // Server-owned fields are ignored on create.
  for (const k of ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"]) delete o.metadata[k];
  // Status is server-owned on create, except for Nodes: there is no kubelet here to report a
  // fake node's capacity, so the creator's status (allocatable GPUs) is kept, as node registration does.
  if (t.subresources.includes("status") && t !== T.nodes) delete o.status;
  if (t === T.pods) o.status = { phase: "Pending" };
  applyDefaults(t, o);
  validate(t, o);
  return ctx.store.create(t, o);
}

function replace(ctx: SimContext, req: ApiRequest, o: KObject): ApiResponse {
  const { type: t, namespace: ns, name, subresource } = req.path;
  checkNamespace(t, ns, o);
  const cur = ctx.store.mustGet(t, ns, name!);
  if (subresource === "scale") return { code: 200, body: toScale(setScale(ctx, t, cur, o)) };
  checkKind(t, o);
  if (o.metadata.name && o.metadata.name !== name) throw badRequest(`the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`);
  o.metadata.name = name!;
  const hasStatus = t.subresources.includes("status");
  if (subresource === "status") return { code: 200, body: ctx.store.update(t, o, "status") };
  applyDefaults(t, o);
  validate(t, o, cur);
  return { code: 200, body: ctx.store.update(t, o, hasStatus && t !== T.nodes ? "main" : "all") };
}

function patch(ctx: SimContext, req: ApiRequest, applyBody?: Json): ApiResponse {
  const { type: t, namespace: ns, name, subresource } = req.path;
  const kind = patchKindOf(req.contentType);
  const body = kind === "apply" ? applyBody : parseJson(req.body);
  const cur = ctx.store.get(t, ns, name!);
  if (!cur) {
    if (kind === "apply" && !subresource) {
      const o = structuredClone(body) as KObject;
      o.metadata = { ...(o.metadata ?? {}), name: name! };
      return { code: 201, body: create(ctx, t, ns, o) };
    }
    throw notFound(t.group, t.resource, name!);
  }
  if (subresource === "scale") {
    const scale = applyPatch(kind, toScale(cur), body);
    return { code: 200, body: toScale(setScale(ctx, t, cur, scale)) };
  }
  const next = applyPatch(kind, cur, body) as KObject;
  if (!next || typeof next !== "object" || !next.metadata) throw badRequest("the patch removed the object's metadata");
  if (next.metadata.name !== name) throw badRequest("the patch may not change metadata.name");
  // A resourceVersion in the patch is a precondition; otherwise the patch applies to the latest.
  if (next.metadata.resourceVersion === cur.metadata.resourceVersion) next.metadata.resourceVersion = "";
  next.metadata.namespace = cur.metadata.namespace;
  if (!next.metadata.namespace) delete next.metadata.namespace;
  if (subresource === "status") return { code: 200, body: ctx.store.update(t, next, "status") };
  checkKind(t, next);
  applyDefaults(t, next);
  validate(t, next, cur);
  return { code: 200, body: ctx.store.update(t, next, t.subresources.includes("status") && t !== T.nodes ? "main" : "all") };
}

/** Apply bodies are YAML; JSON (a YAML subset) is parsed directly, other YAML with client-node's parser. */
async function parseApplyBody(body: string): Promise<Json> {
  try {
    return JSON.parse(body);
  } catch {
    // Loaded lazily: client-node is large and only needed for YAML apply bodies.
    const { loadYaml } = await import("@kubernetes/client-node");
    try {
      return loadYaml(body);
    } catch {
      throw badRequest("the apply body is neither JSON nor YAML");
    }
  }
}

function remove(ctx: SimContext, t: ResourceType, ns: string | undefined, name: string, req: ApiRequest): ApiResponse {
  const cur = ctx.store.mustGet(t, ns, name);
  let options: Json = {};
  if (req.body.trim() !== "") options = parseJson(req.body);
  const graceRaw = req.query.get("gracePeriodSeconds") ?? options.gracePeriodSeconds;
  const grace = graceRaw === undefined || graceRaw === null ? undefined : Number(graceRaw);
  const pre = options.preconditions;
  if (pre?.uid && pre.uid !== cur.metadata.uid) throw new ApiError("Conflict", `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
  if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw new ApiError("Conflict", `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
  }
  if (t === T.pods) {
    const pod = deletePodGracefully(ctx, cur, grace);
    return { code: 200, body: pod };
  }
  if (t === T.namespaces) {
    const ts = new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, "Z");
    const o = ctx.store.markDeleting(t, undefined, name, ts, 0);
    const withPhase = ctx.store.update(t, { ...o, status: { phase: "Terminating" }, metadata: { ...o.metadata, resourceVersion: "" } }, "status");
    return { code: 200, body: withPhase };
  }
  const gone = ctx.store.remove(t, ns, name);
  return {
    code: 200,
    body: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, group: t.group, kind: t.resource, uid: gone.metadata.uid },
    },
  };
}

/** The autoscaling/v1 Scale view of a Deployment/StatefulSet/ReplicaSet. */
export function toScale(o: KObject): Json {
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: selectorToString(fromLabelSelector(o.spec?.selector)) },
  };
}

function setScale(ctx: SimContext, t: ResourceType, cur: KObject, scale: Json): KObject {
  const replicas = scale?.spec?.replicas;
  if (typeof replicas !== "number" || replicas < 0 || !Number.isInteger(replicas)) {
    throw new ApiError("Invalid", `Scale.autoscaling "${cur.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
  }
  const rv = scale?.metadata?.resourceVersion;
  if (rv && rv !== cur.metadata.resourceVersion) {
    return ctx.store.update(t, { ...cur, metadata: { ...cur.metadata, resourceVersion: rv } }, "main");
  }
  const next = structuredClone(cur);
  next.spec.replicas = replicas;
  next.metadata.resourceVersion = "";
  return ctx.store.update(t, next, "main");
}
