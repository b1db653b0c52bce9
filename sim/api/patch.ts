import { badRequest, ApiError } from "./errors.js";
import type { Json } from "../store.js";

export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

export type PatchKind = keyof typeof PATCH_TYPES;

export function patchKindOf(contentType: string | undefined): PatchKind {
  const ct = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  for (const [k, v] of Object.entries(PATCH_TYPES)) if (v === ct) return k as PatchKind;
  throw new ApiError(
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${Object.values(PATCH_TYPES).join(", ")}`,
  );
}

function isObject(v: unknown): v is Record<string, Json> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else (arrays too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, reduced to what matters for workloads: lists whose items all carry a
 * `name` (containers, env, volumes, ports) merge by name, so `kubectl set image` style patches do
 * not wipe the rest of a container; `$patch`/`$setElementOrder` directives are dropped.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (Array.isArray(patch)) {
    const named = (xs: Json[]) => xs.every((x) => isObject(x) && typeof x.name === "string");
    if (Array.isArray(target) && named(patch) && named(target) && patch.length > 0) {
      const out = target.map((x) => structuredClone(x));
      for (const p of patch) {
        if (p.$patch === "delete") {
          const i = out.findIndex((x) => x.name === p.name);
          if (i >= 0) out.splice(i, 1);
          continue;
        }
        const i = out.findIndex((x) => x.name === p.name);
        if (i >= 0) out[i] = strategicMergePatch(out[i], p);
        else out.push(strategicMergePatch(undefined, p));
      }
      return out;
    }
    return patch.map((x) => strategicMergePatch(undefined, x));
  }
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: Json;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`json patch: invalid pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function getAt(doc: Json, segs: string[]): Json {
  let cur = doc;
  for (const s of segs) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(s)] : cur[s];
  }
  return cur;
}

function parentOf(doc: Json, segs: string[], path: string): { parent: Json; key: string } {
  const parent = getAt(doc, segs.slice(0, -1));
  if (parent === null || typeof parent !== "object") {
    throw new ApiError("Invalid", `the server rejected our request due to an error in our request: json patch path ${path} has no parent`);
  }
  return { parent, key: segs[segs.length - 1]! };
}

/** RFC 6902 JSON patch. Errors come back as 422, like the apiserver's "doc is missing path". */
export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let out = structuredClone(doc);
  for (const op of ops as JsonPatchOp[]) {
    const segs = pointer(op.path);
    const missing = () => new ApiError("Invalid", `doc is missing path: "${op.path}": missing value`);
    const put = (value: Json, insert: boolean) => {
      if (segs.length === 0) {
        out = value;
        return;
      }
      const { parent, key } = parentOf(out, segs, op.path);
      if (Array.isArray(parent)) {
        const idx = key === "-" ? parent.length : Number(key);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length) throw missing();
        if (insert) parent.splice(idx, 0, value);
        else {
          if (idx >= parent.length) throw missing();
          parent[idx] = value;
        }
      } else {
        if (!insert && !(key in parent)) throw missing();
        parent[key] = value;
      }
    };
    const del = (p: string[]) => {
      const { parent, key } = parentOf(out, p, op.path);
      if (Array.isArray(parent)) {
        const idx = Number(key);
        if (!(idx >= 0 && idx < parent.length)) throw missing();
        parent.splice(idx, 1);
      } else {
        if (!(key in parent)) throw missing();
        delete parent[key];
      }
    };
    switch (op.op) {
      case "add":
        put(structuredClone(op.value), true);
        break;
      case "replace":
        put(structuredClone(op.value), false);
        break;
      case "remove":
        del(segs);
        break;
      case "move":
      case "copy": {
        const from = pointer(op.from ?? "");
        const v = structuredClone(getAt(out, from));
        if (v === undefined) throw missing();
        if (op.op === "move") del(from);
        put(v, true);
        break;
      }
      case "test":
        if (JSON.stringify(getAt(out, segs)) !== JSON.stringify(op.value)) {
          throw new ApiError("Invalid", `the server rejected our request due to an error in our request: testing value ${op.path} failed`);
        }
        break;
      default:
        throw badRequest(`json patch: unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  }
  return out;
}

export function applyPatch(kind: PatchKind, target: Json, patch: Json): Json {
  switch (kind) {
    case "json":
      return jsonPatch(target, patch);
    case "merge":
      return mergePatch(target, patch);
    case "strategic":
    case "apply":
      // Server-side apply without field managers: the applied config wins, other fields stay.
      return strategicMergePatch(target, patch);
  }
}
