import type { IncomingMessage, ServerResponse } from "node:http";
import type { KObject, ObjectStore, StoreEvent } from "../store.js";
import { toTable } from "./table.js";
import { typeKey } from "../resources.js";
import type { ResourcePath } from "./path.js";
import { matchesSelector, parseFieldSelector, parseLabelSelector } from "./selectors.js";

const HISTORY = 5000;

/**
 * `?watch=true` support: newline-delimited `{type, object}` frames. A recent-history buffer lets
 * a client resume from a resourceVersion; older versions get a 410 Gone ERROR frame, as from etcd
 * compaction, so informers relist.
 */
export class WatchHub {
  private readonly history: StoreEvent[] = [];

  constructor(private readonly store: ObjectStore) {
    store.on("change", (e: StoreEvent) => {
      this.history.push(e);
      if (this.history.length > HISTORY) this.history.shift();
    });
    store.on("restored", () => (this.history.length = 0));
  }

  /** `asTable`: frames carry one-row Tables, as `kubectl get -w` asks for. */
  serve(req: IncomingMessage, res: ServerResponse, path: ResourcePath, query: URLSearchParams, asTable = false): void {
    const key = typeKey(path.type);
    const sel = parseLabelSelector(query.get("labelSelector"));
    const fieldOk = parseFieldSelector(query.get("fieldSelector"));
    const matches = (e: StoreEvent) =>
      e.key === key &&
      (!path.namespace || e.object.metadata.namespace === path.namespace) &&
      (!path.name || e.object.metadata.name === path.name) &&
      matchesSelector(sel, e.object.metadata.labels ?? {}) &&
      fieldOk(e.object);
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
    const send = (type: string, object: unknown) => {
      const o = asTable && type !== "ERROR" ? toTable(path.type, [object as KObject], (object as KObject).metadata.resourceVersion) : object;
      res.write(JSON.stringify({ type, object: o }) + "\n");
    };

    const rvParam = query.get("resourceVersion");
    const since = rvParam && rvParam !== "0" ? Number(rvParam) : undefined;
    if (since === undefined) {
      for (const o of this.store.list(path.type, path.namespace)) {
        const e: StoreEvent = { type: "ADDED", key, object: o };
        if (matches(e)) send("ADDED", o);
      }
    } else {
      const oldest = this.history[0] ? Number(this.history[0].object.metadata.resourceVersion) : Number(this.store.resourceVersion) + 1;
      if (since + 1 < oldest && since < Number(this.store.resourceVersion)) {
        send("ERROR", { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${since} (${oldest - 1})`, reason: "Expired", code: 410 });
        res.end();
        return;
      }
      for (const e of this.history) if (Number(e.object.metadata.resourceVersion) > since && matches(e)) send(e.type, e.object);
    }

    const onChange = (e: StoreEvent) => {
      if (matches(e)) send(e.type, e.object);
    };
    this.store.on("change", onChange);
    const stop = () => {
      this.store.off("change", onChange);
      clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    const timeoutS = Number(query.get("timeoutSeconds") ?? 1800);
    const timer = setTimeout(stop, Math.max(1, timeoutS) * 1000);
    timer.unref();
    req.on("close", stop);
    res.on("close", stop);
  }
}
