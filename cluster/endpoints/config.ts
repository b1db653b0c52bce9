/**
 * The sie-config service of one namespace: healthy while its Service has a Ready config pod
 * behind it, reporting that pod's version. The serving pod's request fault applies to /healthz
 * and /readyz as on the gateway's encodes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { extraLatencyMs } from "../faults.js";
import { VERSION_HEADER, type GatewayState } from "./gateway.js";
import { sendJson } from "./http.js";
import type { NamespaceView } from "./namespaceView.js";
import { NO_REQUEST_LOG, type RequestLog } from "./podLogs.js";
import type { SiePod } from "./view.js";

/** Answers `path` (below `…/namespaces/<ns>/config`) as one of the namespace's Ready config pods, picked round-robin. */
export async function handleConfig(
  state: GatewayState,
  view: NamespaceView,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  requestLog: RequestLog = NO_REQUEST_LOG,
): Promise<void> {
  const endpoints = view.endpoints("config");
  const pod = state.roundRobin(`${view.namespace}|config`).pick(endpoints ?? []);
  if (!pod) {
    const message = endpoints ? "no ready config pods" : `no Service labelled app.kubernetes.io/component=config in namespace ${view.namespace}`;
    return sendJson(res, 503, { status: "unavailable", message });
  }
  return handleConfigPod(state, pod, req, res, path, requestLog);
}

/**
 * Answers `path` at the root of config pod `pod` itself (reached by its IP through the API
 * server's proxy), Ready or not: a pod that is not Ready fails its readiness probe, /readyz.
 */
export async function handleConfigPod(
  state: GatewayState,
  pod: SiePod,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  requestLog: RequestLog = NO_REQUEST_LOG,
): Promise<void> {
  requestLog.answered(pod, req, res, path);
  const headers = { [VERSION_HEADER]: pod.image.version };
  if (path === "/readyz" && !pod.ready) return sendJson(res, 503, { status: "not ready" }, headers);
  await new Promise((r) => setTimeout(r, extraLatencyMs(pod.fault)));
  if (state.fails(pod)) return sendJson(res, 500, { error: "config internal error (injected fault)", fault: pod.fault }, headers);
  if (path === "/healthz" || path === "/readyz") return sendJson(res, 200, { status: "ok" }, headers);
  sendJson(res, 404, { error: `no route ${req.method} ${path}` }, headers);
}
