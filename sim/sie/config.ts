import { createServer, type Server } from "node:http";
import type { SimContext } from "../context.js";
import { sendJson } from "../http.js";
import { RoundRobin, siePods } from "./view.js";
import { VERSION_HEADER } from "./gateway.js";

/** The sie-config service: healthy while a config pod is Ready, reporting that pod's version. */
export function createConfigServer(ctx: SimContext, namespace?: string): Server {
  const rr = new RoundRobin();
  return createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const pod = rr.pick(siePods(ctx, "config", namespace).filter((c) => c.ready));
    if (!pod) return sendJson(res, 503, { status: "unavailable", message: "no ready config pods" });
    const headers = { [VERSION_HEADER]: pod.image.version };
    if (p === "/healthz" || p === "/readyz") return sendJson(res, 200, { status: "ok" }, headers);
    sendJson(res, 404, { error: `no route ${req.method} ${p}` }, headers);
  });
}
