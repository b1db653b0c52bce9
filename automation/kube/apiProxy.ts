/**
 * HTTP to what runs inside the cluster (SIE's gateway and config service, an in-cluster
 * Prometheus) through the API server's proxy, as `kubectl get --raw` does: the stack's kubeconfig
 * is the only credential and the API server the only address, so it works the same on GKE, EKS,
 * any cluster and the embedded one. Everything else on the path (which Ready endpoint answers,
 * RBAC on `services/proxy`) is the cluster's own.
 *
 * An `HttpFetch` takes a URL and behaves like `fetch`: URLs on the API server carry the
 * kubeconfig's credentials (client certificate, token or exec plugin); any other URL (an explicit
 * override such as SIE_FLEET_GATEWAY_URL) is fetched as it is.
 */
import * as http from "node:http";
import * as https from "node:https";
import type * as k8s from "@kubernetes/client-node";

export type HttpFetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A namespaced Service port the API server can proxy to. */
export interface ServiceRef {
  namespace: string;
  name: string;
  /** Port number or the Service port's name. */
  port: number | string;
}

/** `<name>:<port>`: the Service as a proxy URL names it, which is also the name RBAC matches `resourceNames` against. */
export function proxyName(s: Pick<ServiceRef, "name" | "port">): string {
  return `${s.name}:${s.port}`;
}

/** `<server>/api/v1/namespaces/<ns>/services/<name>:<port>/proxy`: append the path the Service serves. */
export function serviceProxyUrl(server: string, s: ServiceRef): string {
  const ns = encodeURIComponent(s.namespace);
  return `${server.replace(/\/+$/, "")}/api/v1/namespaces/${ns}/services/${encodeURIComponent(s.name)}:${encodeURIComponent(String(s.port))}/proxy`;
}

/** The Service a proxy URL names, when it is one (for messages and RBAC hints). */
export function serviceOfProxyUrl(url: string): ServiceRef | undefined {
  const m = /\/api\/v1\/namespaces\/([^/]+)\/services\/([^/:]+):([^/]+)\/proxy(\/|$)/.exec(url);
  if (!m) return undefined;
  const port = decodeURIComponent(m[3]!);
  return { namespace: decodeURIComponent(m[1]!), name: decodeURIComponent(m[2]!), port: /^\d+$/.test(port) ? Number(port) : port };
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * fetch() for the cluster behind `kc`: requests to its API server are made with node:https (or
 * node:http for an `http://` server) and the kubeconfig's TLS and auth (client-node applies certificates, tokens and exec plugins alike);
 * other URLs go to the global fetch untouched. The answer is a standard Response read whole,
 * which is what every caller here does anyway.
 */
export function kubeFetch(kc: k8s.KubeConfig): HttpFetch {
  const server = (kc.getCurrentCluster()?.server ?? "").replace(/\/+$/, "");
  return async (url, init = {}) => {
    if (!server || !(url === server || url.startsWith(`${server}/`))) return fetch(url, init);
    const u = new URL(url);
    const opts: https.RequestOptions = {
      method: init.method ?? "GET",
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: headerRecord(init.headers),
    };
    await kc.applyToHTTPSOptions(opts);
    // The engine sends JSON text and PromQL forms; any other body would be dropped silently below.
    if (init.body != null && typeof init.body !== "string" && !(init.body instanceof URLSearchParams)) {
      throw new TypeError("kubeFetch sends a string or URLSearchParams body only");
    }
    const body = init.body == null ? undefined : String(init.body);
    if (body !== undefined && init.body instanceof URLSearchParams) {
      (opts.headers as Record<string, string>)["content-type"] ??= "application/x-www-form-urlencoded";
    }
    return new Promise<Response>((resolve, reject) => {
      // Callers pass one run-long signal to many requests: each lets go of it as soon as it is
      // answered or fails, or listeners (and the requests they hold) pile up for the whole run.
      const signal = init.signal;
      const onAbort = (): void => void req.destroy(signal?.reason as Error);
      const release = (): void => signal?.removeEventListener("abort", onAbort);
      // `kubectl proxy` and some local clusters serve the API over plain HTTP.
      const req = (u.protocol === "http:" ? http : https).request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => {
          release();
          reject(err);
        });
        res.on("end", () => {
          release();
          const status = res.statusCode ?? 502;
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
          }
          resolve(new Response(NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? "", headers }));
        });
      });
      req.on("error", (err) => {
        release();
        reject(err);
      });
      req.on("close", release);
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
      req.end(body);
    });
  };
}

function headerRecord(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  new Headers(h).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** Why the API server itself answered a proxied request instead of the Service behind it. */
export interface ApiServerRefusal {
  /** forbidden: RBAC; no-service: the Service does not exist; no-endpoints: no Ready endpoint; unreachable: the endpoint did not answer. */
  reason: "forbidden" | "no-service" | "no-endpoints" | "unreachable";
  status: number;
  /** The API server's own message (names the user, verb and resource on a 403). */
  message: string;
}

/**
 * The API server's own error for a proxied request, told apart from the Service's answers by its
 * body: a `kind: Status` object. Undefined when the answer came from the Service (whatever its
 * status: a 503 from the gateway is the gateway's).
 */
export function apiServerRefusal(status: number, text: string): ApiServerRefusal | undefined {
  if (status < 400) return undefined;
  let body: { kind?: unknown; message?: unknown; reason?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return undefined;
  }
  if (body?.kind !== "Status") return undefined;
  const message = typeof body.message === "string" ? body.message : `HTTP ${status}`;
  if (status === 403) return { reason: "forbidden", status, message };
  if (status === 404) return { reason: "no-service", status, message };
  if (status === 503 && /no endpoints available/i.test(message)) return { reason: "no-endpoints", status, message };
  return { reason: "unreachable", status, message };
}
