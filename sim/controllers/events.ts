import { randomBytes } from "node:crypto";
import type { KObject, ObjectStore } from "../store.js";
import { T } from "../resources.js";

const MAX_EVENTS = 1000;

/**
 * Writes core/v1 Events the way the kubelet and controllers do: one Event per
 * (object, reason, message), with `count` and `lastTimestamp` bumped on repeats.
 */
export class EventRecorder {
  private readonly index = new Map<string, string>();

  constructor(private readonly store: ObjectStore, private readonly component = "sie-sim") {
    store.on("restored", () => this.index.clear());
  }

  record(obj: KObject, type: "Normal" | "Warning", reason: string, message: string): void {
    const ns = obj.metadata.namespace ?? "default";
    const key = `${obj.metadata.uid}|${reason}|${message}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const existingName = this.index.get(key);
    const existing = existingName ? this.store.get(T.events, ns, existingName) : undefined;
    if (existing) {
      existing.count = (existing.count ?? 1) + 1;
      existing.lastTimestamp = now;
      existing.metadata.resourceVersion = "";
      this.store.update(T.events, existing);
      return;
    }
    if (!this.store.get(T.namespaces, undefined, ns)) return;
    const name = `${obj.metadata.name}.${randomBytes(8).toString("hex")}`;
    this.store.create(T.events, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ns } as KObject["metadata"],
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
    });
    this.index.set(key, name);
    this.trim();
  }

  /** Keeps the event list bounded, dropping the oldest like the apiserver's event TTL would. */
  private trim(): void {
    if (this.store.size(T.events) <= MAX_EVENTS) return;
    const all = this.store.list(T.events);
    all.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    // Trim a tenth at a time so the sort is not paid on every new event.
    const dropped = new Set<string>();
    for (const e of all.slice(0, all.length - Math.floor(MAX_EVENTS * 0.9))) {
      this.store.remove(T.events, e.metadata.namespace, e.metadata.name);
      dropped.add(e.metadata.name);
    }
    for (const [k, name] of this.index) if (dropped.has(name)) this.index.delete(k);
  }
}
