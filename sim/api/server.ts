import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SimContext } from "../context.js";
import type { KObject } from "../store.js";
import { readBody, sendJson } from "../../cluster/endpoints/http.js";
import { ApiError } from "./errors.js";
import { parseResourcePath } from "./path.js";
import { handleResource } from "./resources.js";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from "./discovery.js";
import { WatchHub } from "./watch.js";
import { toTable, wantsTable } from "./table.js";

/** Handles `/sim/...` control requests; returns false when the path is not one of them. */
export type ControlHandler = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => Promise<boolean>;

/**
 * The Kubernetes API subset over plain HTTP on loopback: discovery, CRUD with Status errors,
 * watch, and the simulator's own `/sim/...` control endpoints on the same port.
 */
export function createApiServer(ctx: SimContext, control: ControlHandler): Server {
  const watches = new WatchHub(ctx.store);
  return createServer((req, res) => {
    void handle(ctx, watches, control, req, res).catch((err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError("InternalError", err instanceof Error ? err.message : String(err));
      if (!res.headersSent) sendJson(res, e.code, e.toStatus());
      else res.end();
    });
  });
}

async function handle(ctx: SimContext, watches: WatchHub, control: ControlHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? "" : await readBody(req);
  const p = url.pathname.replace(/\/+$/, "") || "/";

  if (p.startsWith("/sim")) {
    if (await control(req, res, url, body)) return;
    throw new ApiError("NotFound", `no simulator control endpoint ${method} ${p}`);
  }
  if (method === "GET") {
    const host = req.headers.host ?? "127.0.0.1";
    const doc =
      p === "/version" ? SERVER_VERSION
      : p === "/api" ? apiVersions(host)
      : p === "/apis" ? apiGroupList()
      : p === "/api/v1" ? apiResourceList("", "v1")
      : p === "/healthz" || p === "/readyz" || p === "/livez" ? "ok"
      : /^\/apis\/[^/]+$/.test(p) ? apiGroup(p.split("/")[2]!)
      : /^\/apis\/[^/]+\/[^/]+$/.test(p) ? apiResourceList(p.split("/")[2]!, p.split("/")[3]!)
      : undefined;
    if (typeof doc === "string") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(doc);
      return;
    }
    if (doc !== undefined) return sendJson(res, 200, doc);
  }
  const path = parseResourcePath(p);
  if (!path) throw new ApiError("NotFound", "the server could not find the requested resource");
  const w = url.searchParams.get("watch");
  const table = method === "GET" && wantsTable(req.headers.accept);
  if (method === "GET" && (w === "true" || w === "1")) {
    watches.serve(req, res, path, url.searchParams, table);
    return;
  }
  const out = await handleResource(ctx, {
    method,
    path,
    query: url.searchParams,
    ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
    body,
  });
  if (table && out.code === 200 && !path.subresource) {
    const body = out.body as { items?: KObject[]; metadata: { resourceVersion?: string } };
    const items = path.name ? [out.body as KObject] : (body.items ?? []);
    return sendJson(res, 200, toTable(path.type, items, ctx.store.resourceVersion));
  }
  sendJson(res, out.code, out.body);
}
