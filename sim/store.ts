import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { alreadyExists, conflict, notFound } from "./api/errors.js";
import { apiVersionOf, RESOURCE_TYPES, typeKey, type ResourceType } from "./resources.js";
import { matchesSelector, type Selector } from "./api/selectors.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Stored objects are plain JSON, as on the wire; controllers read fields they know. */
export type Json = any;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  generateName?: string;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Json;
  status?: Json;
  [key: string]: Json;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  key: string;
  object: KObject;
}

/** Which part of an object an update may change, mirroring the main resource vs `/status`. */
export type UpdateScope = "main" | "status" | "all";

export interface StoreSnapshot {
  format: 1;
  resourceVersion: number;
  objects: Record<string, KObject[]>;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Stable JSON (sorted keys), so hashes and "did the spec change" checks do not depend on key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Everything but metadata and status counts as "spec" for generation, as the apiserver does for CRDs. */
function specPart(o: KObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return stableStringify(rest);
}

/**
 * In-memory object store with apiserver semantics: one global resourceVersion counter, uid and
 * creationTimestamp on create, generation bumped only when the spec changes, optimistic
 * concurrency on resourceVersion. Emits a `change` event per write (watch + persistence).
 */
export class ObjectStore extends EventEmitter {
  private readonly buckets = new Map<string, Map<string, KObject>>();
  private rv = 0;

  constructor() {
    super();
    this.setMaxListeners(0);
    for (const t of RESOURCE_TYPES) this.buckets.set(typeKey(t), new Map());
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(t: ResourceType): Map<string, KObject> {
    const b = this.buckets.get(typeKey(t));
    if (!b) throw new Error(`unknown resource type ${typeKey(t)}`);
    return b;
  }

  private static id(ns: string | undefined, name: string): string {
    return ns ? `${ns}/${name}` : name;
  }

  get(t: ResourceType, ns: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(t).get(ObjectStore.id(t.namespaced ? ns : undefined, name));
    return o ? clone(o) : undefined;
  }

  mustGet(t: ResourceType, ns: string | undefined, name: string): KObject {
    const o = this.get(t, ns, name);
    if (!o) throw notFound(t.group, t.resource, name);
    return o;
  }

  /** Objects sorted by namespace then name, as the apiserver lists them. */
  list(t: ResourceType, ns?: string, selector?: Selector): KObject[] {
    const out: KObject[] = [];
    for (const o of this.bucket(t).values()) {
      if (ns && o.metadata.namespace !== ns) continue;
      if (selector && !matchesSelector(selector, o.metadata.labels ?? {})) continue;
      out.push(clone(o));
    }
    return out.sort((a, b) =>
      ObjectStore.id(a.metadata.namespace, a.metadata.name).localeCompare(ObjectStore.id(b.metadata.namespace, b.metadata.name)),
    );
  }

  /** How many objects of a type exist (no copying). */
  size(t: ResourceType): number {
    return this.bucket(t).size;
  }

  /**
   * Read-only view of the stored objects, without the defensive copy `list` makes. For hot
   * internal loops (garbage collection); callers must not mutate or keep the objects.
   */
  peek(t: ResourceType): Iterable<Readonly<KObject>> {
    return this.bucket(t).values();
  }

  findByUid(uid: string): KObject | undefined {
    for (const b of this.buckets.values()) for (const o of b.values()) if (o.metadata.uid === uid) return clone(o);
    return undefined;
  }

  private nextRv(): string {
    this.rv += 1;
    return String(this.rv);
  }

  create(t: ResourceType, input: KObject): KObject {
    const o = clone(input);
    const meta = (o.metadata ?? {}) as ObjectMeta;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix(5);
    const ns = t.namespaced ? meta.namespace : undefined;
    const b = this.bucket(t);
    const id = ObjectStore.id(ns, meta.name);
    if (b.has(id)) throw alreadyExists(t.group, t.resource, meta.name);
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
    const now = new Date().toISOString();
    o.metadata = {
      ...meta,
      ...(ns ? { namespace: ns } : {}),
      uid: randomUUID(),
      resourceVersion: this.nextRv(),
      creationTimestamp: meta.creationTimestamp && meta.uid ? meta.creationTimestamp : now.replace(/\.\d+Z$/, "Z"),
      ...("spec" in o ? { generation: 1 } : {}),
    };
    if (!t.namespaced) delete o.metadata.namespace;
    delete o.metadata.deletionTimestamp;
    b.set(id, o);
    this.emit("change", { type: "ADDED", key: typeKey(t), object: clone(o) } satisfies StoreEvent);
    return clone(o);
  }

  /**
   * Replaces an object. A non-empty `metadata.resourceVersion` in `input` must match (409 otherwise).
   * `scope` "main" keeps the stored status, "status" keeps everything but status (and labels/annotations
   * are ignored, as on `/status`), "all" is for the sim's own controllers.
   */
  update(t: ResourceType, input: KObject, scope: UpdateScope = "all"): KObject {
    const ns = t.namespaced ? input.metadata?.namespace : undefined;
    const name = input.metadata?.name;
    const b = this.bucket(t);
    const id = ObjectStore.id(ns, name);
    const cur = b.get(id);
    if (!cur) throw notFound(t.group, t.resource, name);
    const wantRv = input.metadata?.resourceVersion;
    if (wantRv && wantRv !== cur.metadata.resourceVersion) throw conflict(t.group, t.resource, name);

    let next: KObject;
    if (scope === "status") {
      next = { ...clone(cur), status: clone(input.status) };
    } else {
      next = clone(input);
      if (scope === "main") {
        if (cur.status !== undefined) next.status = clone(cur.status);
        else delete next.status;
      }
      // Identity fields are owned by the server.
      next.metadata = {
        ...next.metadata,
        uid: cur.metadata.uid,
        creationTimestamp: cur.metadata.creationTimestamp,
        ...(cur.metadata.namespace ? { namespace: cur.metadata.namespace } : {}),
      };
      if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
    }
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    const gen = cur.metadata.generation;
    if (gen !== undefined || "spec" in next) {
      next.metadata.generation = (gen ?? 0) + (specPart(next) !== specPart(cur) || gen === undefined ? 1 : 0);
    }
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (stableStringify(next) === stableStringify(cur)) return clone(cur); // no-op writes keep the resourceVersion
    next.metadata.resourceVersion = this.nextRv();
    b.set(id, next);
    this.emit("change", { type: "MODIFIED", key: typeKey(t), object: clone(next) } satisfies StoreEvent);
    return clone(next);
  }

  /** Sets the server-owned deletion fields (graceful deletion); the object stays until removed. */
  markDeleting(t: ResourceType, ns: string | undefined, name: string, deletionTimestamp: string, graceSeconds: number): KObject {
    const b = this.bucket(t);
    const id = ObjectStore.id(t.namespaced ? ns : undefined, name);
    const cur = b.get(id);
    if (!cur) throw notFound(t.group, t.resource, name);
    if (cur.metadata.deletionTimestamp) return clone(cur);
    const next = clone(cur);
    next.metadata.deletionTimestamp = deletionTimestamp;
    next.metadata.deletionGracePeriodSeconds = graceSeconds;
    next.metadata.resourceVersion = this.nextRv();
    b.set(id, next);
    this.emit("change", { type: "MODIFIED", key: typeKey(t), object: clone(next) } satisfies StoreEvent);
    return clone(next);
  }

  /** Removes an object immediately (graceful pod termination is done by the callers). */
  remove(t: ResourceType, ns: string | undefined, name: string): KObject {
    const b = this.bucket(t);
    const id = ObjectStore.id(t.namespaced ? ns : undefined, name);
    const cur = b.get(id);
    if (!cur) throw notFound(t.group, t.resource, name);
    b.delete(id);
    const gone = clone(cur);
    gone.metadata.resourceVersion = this.nextRv();
    this.emit("change", { type: "DELETED", key: typeKey(t), object: clone(gone) } satisfies StoreEvent);
    return gone;
  }

  snapshot(): StoreSnapshot {
    const objects: Record<string, KObject[]> = {};
    for (const [k, b] of this.buckets) if (b.size > 0) objects[k] = [...b.values()].map(clone);
    return { format: 1, resourceVersion: this.rv, objects };
  }

  /** Replaces the whole content (used on start-up from state.json and by /sim/reset). */
  restore(s: StoreSnapshot): void {
    for (const b of this.buckets.values()) b.clear();
    this.rv = s.resourceVersion;
    for (const [k, objs] of Object.entries(s.objects)) {
      const b = this.buckets.get(k);
      if (!b) continue; // a type this build no longer serves
      for (const o of objs) b.set(ObjectStore.id(o.metadata.namespace, o.metadata.name), clone(o));
    }
    this.emit("restored");
  }
}

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Random suffix in the alphabet Kubernetes uses for generated names (no vowels, no look-alikes). */
export function randomSuffix(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += SAFE_ALPHABET[Math.floor(Math.random() * SAFE_ALPHABET.length)];
  return s;
}

/** Deterministic short hash in the same alphabet (pod-template-hash, controller-revision-hash). */
export function safeHash(input: string, n = 10): string {
  // FNV-1a 64-bit: cheap, stable across runs, no crypto needed.
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < input.length; i++) {
    h ^= BigInt(input.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  let s = "";
  for (let i = 0; i < n; i++) {
    s += SAFE_ALPHABET[Number(h % BigInt(SAFE_ALPHABET.length))];
    h /= BigInt(SAFE_ALPHABET.length);
  }
  return s;
}
