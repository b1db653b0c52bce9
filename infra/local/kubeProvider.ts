// A Pulumi dynamic provider that applies plain Kubernetes objects to the simulator's API.
//
// Pulumi serializes these functions into the state and runs them in the provider process, so
// they may only use globals (fetch, JSON) and each other: no imports are captured. The API
// address is read from the simulator's endpoints file at each operation, because its port
// changes between restarts while the stack state must stay valid.
import type * as pulumi from "@pulumi/pulumi";
import type { KubeObject } from "./chartRender.js";

export interface KubeObjectsInputs {
  /** Directory of the simulator (holds endpoints.json). */
  simDir: string;
  objects: KubeObject[];
  /** Dotted paths an update leaves to the cluster (e.g. spec.replicas, owned by KEDA). */
  preserveOnUpdate: string[];
}

async function apiBase(simDir: string): Promise<string> {
  const fs = await import("node:fs/promises");
  let raw: string;
  try {
    raw = await fs.readFile(`${simDir}/endpoints.json`, "utf8");
  } catch {
    throw new Error(
      `the local SIE simulator is not running (no ${simDir}/endpoints.json): start it with \`sie-fleet sim start\``,
    );
  }
  return (JSON.parse(raw) as { api: string }).api.replace(/\/$/, "");
}

function objectPath(o: KubeObject, withName: boolean): string {
  const plural: Record<string, string> = {
    Namespace: "namespaces",
    Node: "nodes",
    ConfigMap: "configmaps",
    Service: "services",
    Deployment: "deployments",
    StatefulSet: "statefulsets",
    ScaledObject: "scaledobjects",
  };
  const kind = plural[o.kind];
  if (kind === undefined) throw new Error(`the local platform cannot apply kind ${o.kind}`);
  const prefix = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : "";
  return `${prefix}${ns}/${kind}${withName ? `/${o.metadata.name}` : ""}`;
}

async function call(method: string, url: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json: json as Record<string, unknown> | undefined };
}

function failure(verb: string, o: KubeObject, r: { status: number; json?: Record<string, unknown> }): Error {
  const msg = r.json && typeof r.json.message === "string" ? r.json.message : `HTTP ${r.status}`;
  return new Error(`${verb} ${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}: ${msg}`);
}

function withoutPaths(o: KubeObject, paths: string[]): KubeObject {
  const copy = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  for (const p of paths) {
    const parts = p.split(".");
    let cur: Record<string, unknown> | undefined = copy;
    for (const key of parts.slice(0, -1)) {
      const next: unknown = cur?.[key];
      cur = next !== null && typeof next === "object" ? (next as Record<string, unknown>) : undefined;
    }
    if (cur) delete cur[parts[parts.length - 1] as string];
  }
  return copy as KubeObject;
}

async function applyOne(base: string, o: KubeObject, preserve: string[], isCreate: boolean): Promise<void> {
  const existing = await call("GET", base + objectPath(o, true));
  if (existing.status === 404) {
    const created = await call("POST", base + objectPath(o, false), o);
    if (created.status >= 300) throw failure("create", o, created);
    return;
  }
  if (existing.status >= 300) throw failure("read", o, existing);
  // A merge patch leaves fields we do not render (rollout partitions, paused, KEDA's replica
  // count) to whoever owns them, as Helm's three-way merge does on a real cluster.
  const patch = isCreate ? o : withoutPaths(o, preserve);
  const patched = await call("PATCH", base + objectPath(o, true), patch, "application/merge-patch+json");
  if (patched.status >= 300) throw failure("update", o, patched);
}

async function deleteOne(base: string, o: KubeObject): Promise<void> {
  const r = await call("DELETE", base + objectPath(o, true));
  if (r.status >= 300 && r.status !== 404) throw failure("delete", o, r);
}

function keyOf(o: KubeObject): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

// Keeps only the fields we render, so a refresh reports drift in what we own and nothing else.
function project(ours: unknown, live: unknown): unknown {
  if (Array.isArray(ours)) {
    return Array.isArray(live) && live.length === ours.length ? ours.map((v, i) => project(v, live[i])) : live;
  }
  if (ours !== null && typeof ours === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return live;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ours as Record<string, unknown>)) {
      const l = (live as Record<string, unknown>)[k];
      if (l !== undefined) out[k] = project(v, l);
    }
    return out;
  }
  return live;
}

function restorePaths(projected: KubeObject, ours: KubeObject, paths: string[]): KubeObject {
  const copy = JSON.parse(JSON.stringify(projected)) as Record<string, unknown>;
  for (const p of paths) {
    const parts = p.split(".");
    let src: unknown = ours;
    let dst: Record<string, unknown> = copy;
    for (const [i, key] of parts.entries()) {
      src = src !== null && typeof src === "object" ? (src as Record<string, unknown>)[key] : undefined;
      if (i === parts.length - 1) {
        if (src !== undefined) dst[key] = src;
      } else {
        const next = dst[key];
        if (next === null || typeof next !== "object") break;
        dst = next as Record<string, unknown>;
      }
    }
  }
  return copy as KubeObject;
}

export const kubeObjectsProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: KubeObjectsInputs) {
    const base = await apiBase(inputs.simDir);
    for (const o of inputs.objects) await applyOne(base, o, inputs.preserveOnUpdate, true);
    const first = inputs.objects[0];
    return { id: first ? keyOf(first) : "empty", outs: inputs };
  },

  async diff(_id: string, olds: KubeObjectsInputs, news: KubeObjectsInputs) {
    const changed =
      JSON.stringify(olds.objects) !== JSON.stringify(news.objects) ||
      JSON.stringify(olds.preserveOnUpdate) !== JSON.stringify(news.preserveOnUpdate) ||
      olds.simDir !== news.simDir;
    return { changes: changed, replaces: [], deleteBeforeReplace: false };
  },

  async update(_id: string, olds: KubeObjectsInputs, news: KubeObjectsInputs) {
    const base = await apiBase(news.simDir);
    for (const o of news.objects) await applyOne(base, o, news.preserveOnUpdate, false);
    const keep = new Set(news.objects.map(keyOf));
    for (const o of [...olds.objects].reverse()) {
      if (!keep.has(keyOf(o))) await deleteOne(base, o);
    }
    return { outs: news };
  },

  async delete(_id: string, props: KubeObjectsInputs) {
    const base = await apiBase(props.simDir);
    for (const o of [...props.objects].reverse()) await deleteOne(base, o);
  },

  async read(id: string, props: KubeObjectsInputs) {
    const base = await apiBase(props.simDir);
    const objects: KubeObject[] = [];
    for (const o of props.objects) {
      const r = await call("GET", base + objectPath(o, true));
      if (r.status === 404) continue;
      if (r.status >= 300) throw failure("read", o, r);
      objects.push(restorePaths(project(o, r.json) as KubeObject, o, props.preserveOnUpdate));
    }
    if (objects.length === 0) return { id: undefined, props: {} };
    return { id, props: { ...props, objects } };
  },
};
