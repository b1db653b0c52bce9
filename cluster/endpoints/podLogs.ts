/**
 * What SIE pods would print: one log file per pod, in the CRI format a kubelet's container logs
 * have, which kwok's kubelet server reads for `kubectl logs` (its `Logs` objects name the file,
 * see kubeletObjects.ts). A pod's file gets a start line when it starts, then one line per request
 * it answers, through the API server's proxy (egress.ts) or the endpoint server's own namespace
 * URLs; requests a fault fails are ERROR lines on stderr, so
 * `kubectl logs -l app.kubernetes.io/component=gateway | grep -i error` finds them.
 *
 * Cheap on the request path: lines are buffered and appended once per FLUSH_MS, and a file that
 * outgrows MAX_BYTES keeps its newer half (what `kubectl logs --tail` asks for anyway).
 */
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";
import type { SiePod } from "./view.js";

const FLUSH_MS = 100;
const MAX_BYTES = 1024 * 1024;

export type LogStream = "stdout" | "stderr";

/** `<ns>_<pod>.log`, as the kubelet names a pod's log directory: namespace and name cannot hold `_`. */
export function podLogFileName(namespace: string, name: string): string {
  return `${namespace}_${name}.log`;
}

/** One line of a CRI container log: `<RFC 3339 time> <stream> F <message>` (F: the full line). */
export function criLine(at: Date, stream: LogStream, message: string): string {
  return `${at.toISOString()} ${stream} F ${message.replace(/[\r\n]+/g, " ")}\n`;
}

/** The line a pod prints when its container starts. */
export function startLine(pod: SiePod): { stream: LogStream; message: string } {
  const image = pod.image;
  const listen = pod.ports.length > 0 ? ` listening on :${pod.ports.join(", :")}` : "";
  return {
    stream: "stdout",
    message: `INFO sie-${pod.component} ${image.version || image.tag || "unknown"} started${listen ? `,${listen}` : ""} (image ${image.repository}:${image.tag})`,
  };
}

/** The line for one request a pod answered; 5xx are ERROR lines on stderr, naming the pod's fault. */
export function requestLine(pod: SiePod, method: string, urlPath: string, status: number): { stream: LogStream; message: string } {
  const base = `method=${method} path=${urlPath} status=${status} version=${pod.image.version}`;
  if (status >= 500) return { stream: "stderr", message: `ERROR request failed ${base}${pod.fault ? ` fault=${pod.fault}` : ""}` };
  return { stream: "stdout", message: `INFO request ${base}` };
}

/** Where request lines go: PodLogs, or nowhere when the cluster serves no logs. */
export interface RequestLog {
  /** One line for the request `pod` answers on `res` (`urlPath` at the pod's root), written once the answer is sent. */
  answered(pod: SiePod, req: IncomingMessage, res: ServerResponse, urlPath: string): void;
  /** One line for a request `pod` served inside another pod's answer (a worker's encode behind the gateway). */
  served(pod: SiePod, method: string, urlPath: string, status: number): void;
}

export const NO_REQUEST_LOG: RequestLog = { answered: () => undefined, served: () => undefined };

/** The per-pod files under `dir`; lines go only to pods `open` was called for and `remove` was not. */
export class PodLogs implements RequestLog {
  private readonly pending = new Map<string, string[]>();
  private readonly sizes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly maxBytes = MAX_BYTES,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  file(namespace: string, name: string): string {
    return path.join(this.dir, podLogFileName(namespace, name));
  }

  /**
   * Makes the pod's file, or keeps the one there (`created` false); `fresh` empties it (a new pod
   * under a reused name, as a StatefulSet's).
   */
  open(namespace: string, name: string, fresh: boolean): { file: string; created: boolean } {
    const file = this.file(namespace, name);
    if (fresh || !fs.existsSync(file)) {
      this.pending.delete(file);
      fs.writeFileSync(file, "");
      this.sizes.set(file, 0);
      return { file, created: true };
    }
    if (!this.sizes.has(file)) this.sizes.set(file, fs.statSync(file).size);
    return { file, created: false };
  }

  remove(namespace: string, name: string): void {
    const file = this.file(namespace, name);
    this.pending.delete(file);
    this.sizes.delete(file);
    fs.rmSync(file, { force: true });
  }

  /** Names of the files in `dir` (for removing those of pods gone while nothing ran). */
  files(): string[] {
    return fs.readdirSync(this.dir).filter((f) => f.endsWith(".log"));
  }

  line(pod: SiePod, entry: { stream: LogStream; message: string }): void {
    const file = this.file(pod.namespace, pod.name);
    if (!this.sizes.has(file)) return;
    const lines = this.pending.get(file) ?? [];
    lines.push(criLine(new Date(), entry.stream, entry.message));
    this.pending.set(file, lines);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  answered(pod: SiePod, req: IncomingMessage, res: ServerResponse, urlPath: string): void {
    res.once("finish", () => this.line(pod, requestLine(pod, req.method ?? "GET", urlPath, res.statusCode)));
  }

  served(pod: SiePod, method: string, urlPath: string, status: number): void {
    this.line(pod, requestLine(pod, method, urlPath, status));
  }

  /** Appends every buffered line; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending()).catch(() => undefined);
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writePending(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    for (const [file, lines] of batch) {
      if (!this.sizes.has(file)) continue;
      const text = lines.join("");
      await fs.promises.appendFile(file, text);
      const size = (this.sizes.get(file) ?? 0) + Buffer.byteLength(text);
      this.sizes.set(file, size > this.maxBytes ? await keepNewerHalf(file, this.maxBytes) : size);
    }
  }
}

/** Cuts `file` to its last maxBytes/2 bytes, from a line start; returns the new size. */
async function keepNewerHalf(file: string, maxBytes: number): Promise<number> {
  const all = await fs.promises.readFile(file);
  let tail = all.subarray(Math.max(0, all.length - Math.floor(maxBytes / 2)));
  const nl = tail.indexOf(0x0a);
  if (nl >= 0 && tail.length < all.length) tail = tail.subarray(nl + 1);
  await fs.promises.writeFile(file, tail);
  return tail.length;
}
