// A Pulumi dynamic provider that applies plain Kubernetes objects to a Kubernetes API: the SIE
// simulator's (platform local) or the cluster a kubeconfig names (platform kubernetes with
// `cluster.deployWith: objects`).
//
// Pulumi serializes these functions into the state and runs them in the provider process, so
// they may only use globals (fetch, JSON), each other and modules loaded at run time (load()):
// no imports are captured. The target is looked up at each operation: the simulator's API
// address from its endpoints file (its port changes between restarts while the stack state must
// stay valid), a cluster's server and client certificates from the kubeconfig **file**, whose
// path (never its content) is all the state holds.
import type * as pulumi from "@pulumi/pulumi";
import type { KubeObject } from "./chartRender.js";

export interface KubeObjectsInputs {
  /** Directory of the simulator (holds endpoints.json); set on platform local. */
  simDir?: string;
  /** Absolute path of a kubeconfig file; set on platform kubernetes. */
  kubeconfig?: string;
  /** Kubeconfig context to use instead of the file's current one. */
  context?: string;
  objects: KubeObject[];
  /** Dotted paths an update leaves to the cluster (e.g. spec.replicas, owned by KEDA). */
  preserveOnUpdate: string[];
}

interface Reply {
  status: number;
  json: Record<string, unknown> | undefined;
}
type Call = (method: string, path: string, body?: unknown, contentType?: string) => Promise<Reply>;

// `import()` through a Function, so bundlers and test runners that rewrite import() (vitest) leave a
// closure Pulumi can serialize; in the provider process it resolves from the project's node_modules.
function load<T>(specifier: string): Promise<T> {
  return (new Function("s", "return import(s)") as (s: string) => Promise<T>)(specifier);
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    return (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined;
  } catch {
    return { message: text };
  }
}

async function simulatorCall(simDir: string): Promise<Call> {
  const fs = await load<typeof import("node:fs/promises")>("node:fs/promises");
  let raw: string;
  try {
    raw = await fs.readFile(`${simDir}/endpoints.json`, "utf8");
  } catch {
    throw new Error(
      `the local SIE simulator is not running (no ${simDir}/endpoints.json): start it with \`sie-fleet sim start\``,
    );
  }
  const base = (JSON.parse(raw) as { api: string }).api.replace(/\/$/, "");
  return async (method, path, body, contentType = "application/json") => {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { "content-type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: parseBody(await res.text()) };
  };
}

// client-node applies the kubeconfig's CA, client certificate or token to an https request;
// errors name the file and the context, never the content.
async function kubeconfigCall(file: string, context: string | undefined): Promise<Call> {
  const k8s = await load<typeof import("@kubernetes/client-node")>("@kubernetes/client-node");
  const http = await load<typeof import("node:http")>("node:http");
  const https = await load<typeof import("node:https")>("node:https");
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new Error(`cannot load the kubeconfig ${file} (cluster.kubeconfig): ${why}`);
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new Error(`the kubeconfig ${file} has no context "${context}" (cluster.context)`);
    }
    kc.setCurrentContext(context);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`the kubeconfig ${file} names no cluster server for its current context`);
  const base = new URL(server.replace(/\/$/, ""));
  return async (method, path, body, contentType = "application/json") => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
    const opts: import("node:https").RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: { accept: "application/json", ...(payload === undefined ? {} : { "content-type": contentType }) },
      timeout: 30_000,
    };
    await kc.applyToHTTPSOptions(opts);
    const lib = url.protocol === "http:" ? http : https;
    return new Promise<Reply>((resolve, reject) => {
      const req = lib.request(opts, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: parseBody(text) }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.origin}${path}: no answer within 30 s`)));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };
}

async function connect(t: KubeObjectsInputs): Promise<Call> {
  if (t.kubeconfig) return kubeconfigCall(t.kubeconfig, t.context);
  if (t.simDir) return simulatorCall(t.simDir);
  throw new Error("KubeObjects: neither simDir nor kubeconfig is set");
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
  if (kind === undefined) throw new Error(`KubeObjects cannot apply kind ${o.kind}`);
  const prefix = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : "";
  return `${prefix}${ns}/${kind}${withName ? `/${o.metadata.name}` : ""}`;
}

function failure(verb: string, o: KubeObject, r: Reply): Error {
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

async function applyOne(call: Call, o: KubeObject, preserve: string[], isCreate: boolean): Promise<void> {
  const existing = await call("GET", objectPath(o, true));
  if (existing.status === 404) {
    const created = await call("POST", objectPath(o, false), o);
    if (created.status >= 300) throw failure("create", o, created);
    return;
  }
  if (existing.status >= 300) throw failure("read", o, existing);
  // A merge patch leaves fields we do not render (rollout partitions, paused, KEDA's replica
  // count) to whoever owns them, as Helm's three-way merge does on a real cluster.
  const patch = isCreate ? o : withoutPaths(o, preserve);
  const patched = await call("PATCH", objectPath(o, true), patch, "application/merge-patch+json");
  if (patched.status >= 300) throw failure("update", o, patched);
}

async function deleteOne(call: Call, o: KubeObject): Promise<void> {
  const r = await call("DELETE", objectPath(o, true));
  if (r.status >= 300 && r.status !== 404) throw failure("delete", o, r);
}

function keyOf(o: KubeObject): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

// Keeps only the fields we render, so a refresh reports drift in what we own and nothing else.
// A real API server leaves out zero values (0, false, "", empty maps and lists: Go's omitempty)
// and returns quantities as strings (1 → "1"); neither is drift.
function isZero(v: unknown): boolean {
  return v === 0 || v === false || v === "" || (v !== null && typeof v === "object" && Object.keys(v).length === 0);
}

function project(ours: unknown, live: unknown): unknown {
  if (live === undefined && isZero(ours)) return ours;
  if (typeof ours === "number" && typeof live === "string" && live === String(ours)) return ours;
  if (Array.isArray(ours)) {
    return Array.isArray(live) && live.length === ours.length ? ours.map((v, i) => project(v, live[i])) : live;
  }
  if (ours !== null && typeof ours === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return live;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ours as Record<string, unknown>)) {
      const projected = project(v, (live as Record<string, unknown>)[k]);
      if (projected !== undefined) out[k] = projected;
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
    const call = await connect(inputs);
    for (const o of inputs.objects) await applyOne(call, o, inputs.preserveOnUpdate, true);
    const first = inputs.objects[0];
    return { id: first ? keyOf(first) : "empty", outs: inputs };
  },

  async diff(_id: string, olds: KubeObjectsInputs, news: KubeObjectsInputs) {
    const changed =
      JSON.stringify(olds.objects) !== JSON.stringify(news.objects) ||
      JSON.stringify(olds.preserveOnUpdate) !== JSON.stringify(news.preserveOnUpdate) ||
      olds.simDir !== news.simDir ||
      olds.kubeconfig !== news.kubeconfig ||
      olds.context !== news.context;
    return { changes: changed, replaces: [], deleteBeforeReplace: false };
  },

  async update(_id: string, olds: KubeObjectsInputs, news: KubeObjectsInputs) {
    const call = await connect(news);
    for (const o of news.objects) await applyOne(call, o, news.preserveOnUpdate, false);
    const keep = new Set(news.objects.map(keyOf));
    for (const o of [...olds.objects].reverse()) {
      if (!keep.has(keyOf(o))) await deleteOne(call, o);
    }
    return { outs: news };
  },

  async delete(_id: string, props: KubeObjectsInputs) {
    const call = await connect(props);
    for (const o of [...props.objects].reverse()) await deleteOne(call, o);
  },

  async read(id: string, props: KubeObjectsInputs) {
    const call = await connect(props);
    const objects: KubeObject[] = [];
    for (const o of props.objects) {
      const r = await call("GET", objectPath(o, true));
      if (r.status === 404) continue;
      if (r.status >= 300) throw failure("read", o, r);
      objects.push(restorePaths(project(o, r.json) as KubeObject, o, props.preserveOnUpdate));
    }
    if (objects.length === 0) return { id: undefined, props: {} };
    return { id, props: { ...props, objects } };
  },
};
