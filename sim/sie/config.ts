import { createServer, type Server } from "node:http";
import type { SimContext } from "../context.js";
import { ERRORS10_RATE } from "../../cluster/faults.js";
import { sendJson } from "../../cluster/endpoints/http.js";
import { RoundRobin, siePods } from "./view.js";
import { VERSION_HEADER } from "./gateway.js";

/**
 * The sie-config service: healthy while a config pod is Ready, reporting that pod's version.
 * The serving pod's fault applies as on the gateway: -5xx answers 500, -errors10 every tenth
 * request, -slow adds slowExtraMs.
 */
export function createConfigServer(ctx: SimContext, namespace?: string): Server {
  const rr = new RoundRobin();
  let served = 0;
  return createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const pod = rr.pick(siePods(ctx, "config", namespace).filter((c) => c.ready));
    if (!pod) return sendJson(res, 503, { status: "unavailable", message: "no ready config pods" });
    const headers = { [VERSION_HEADER]: pod.image.version };
    const reply = () => {
      served += 1;
      if (pod.fault === "5xx" || (pod.fault === "errors10" && served % Math.round(1 / ERRORS10_RATE) === 0)) {
        return sendJson(res, 500, { error: "config internal error (simulated fault)", fault: pod.fault }, headers);
      }
      if (p === "/healthz" || p === "/readyz") return sendJson(res, 200, { status: "ok" }, headers);
      sendJson(res, 404, { error: `no route ${req.method} ${p}` }, headers);
    };
    if (pod.fault === "slow") setTimeout(reply, ctx.timings.slowExtraMs);
    else reply();
  });
}
