/**
 * One absolute-form proxy request (`GET http://host:port/path?q`, what an HTTP client sends
 * through HTTP_PROXY) relayed over a connection the pod network opened to the pod: the request
 * as the pod would receive it directly (origin-form path and query, end-to-end headers), and its
 * answer streamed back. The pod network proxy (egress.ts) decides where that connection goes.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { sendText } from "./http.js";

/** Headers that describe one hop (RFC 9110 §7.6.1) or talk to the proxy itself, never passed on. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** `headers` without hop-by-hop ones, nor those the `Connection` header names. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  }
  return out;
}

/** The URL of an absolute-form `http://` request target; undefined for origin-form and other schemes. */
export function absoluteUrl(target: string | undefined): URL | undefined {
  if (!target || !/^http:\/\//i.test(target)) return undefined;
  try {
    return new URL(target);
  } catch {
    return undefined;
  }
}

/**
 * `502 <reason>`, the reason also in the body: what a client shows of a failed proxied request
 * is one or the other. The status line takes printable ASCII only.
 */
export function refuseRequest(res: ServerResponse, reason: string): void {
  if (res.headersSent) return void res.destroy();
  res.statusMessage = reason.replace(/[^\x20-\x7e]+/g, " ");
  // Closed after: a refused request's body may still be arriving, and nothing wants it.
  sendText(res, 502, `${reason}\n`, { Connection: "close" });
}

/**
 * Sends `req` to `url`'s path and query over `pipe` and streams the answer into `res`. `to`
 * (the dialled address) names the other end when that connection fails before an answer.
 */
export function relayRequest(req: IncomingMessage, res: ServerResponse, pipe: Socket, url: URL, to: string): void {
  const headers = endToEndHeaders(req.headers);
  headers.host ??= url.host;
  // One request per connection: the pod network dials again for the next one.
  headers.connection = "close";
  const upstream = request({ createConnection: () => pipe, method: req.method, path: url.pathname + url.search, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.headers));
    answer.pipe(res);
    answer.on("error", () => res.destroy());
  });
  upstream.on("error", (err) => {
    pipe.destroy();
    refuseRequest(res, `${url.host}: the connection to ${to} failed: ${err.message}`);
  });
  // The client gone (or the answer complete): nothing more goes over this connection.
  res.on("close", () => pipe.destroy());
  req.pipe(upstream);
}
