import type { Json, KObject } from "../store.js";
import type { ResourceType } from "../resources.js";

/**
 * Server-side printing (`meta.k8s.io/v1 Table`), which `kubectl get` asks for. Without it kubectl
 * shows only NAME and AGE; with it `kubectl get pods` shows READY, STATUS and RESTARTS.
 */

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "") && /g=meta\.k8s\.io/.test(accept ?? "");
}

type Column = [name: string, cell: (o: KObject) => string | number, priority?: number];

function age(o: KObject): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(o.metadata.creationTimestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return "Terminating";
  const unschedulable = (p.status?.conditions ?? []).find((c: Json) => c.reason === "Unschedulable");
  if (unschedulable) return "Pending";
  for (const c of p.status?.containerStatuses ?? []) if (c.state?.waiting?.reason) return c.state.waiting.reason;
  return p.status?.phase ?? "Pending";
}

const images = (o: KObject) => (o.spec?.template?.spec?.containers ?? []).map((c: Json) => c.image).join(",");
const containers = (o: KObject) => (o.spec?.template?.spec?.containers ?? []).map((c: Json) => c.name).join(",");
const cond = (o: KObject, type: string) => (o.status?.conditions ?? []).find((c: Json) => c.type === type)?.status ?? "Unknown";

const COLUMNS: Record<string, Column[]> = {
  pods: [
    ["Ready", (p) => `${(p.status?.containerStatuses ?? []).filter((c: Json) => c.ready).length}/${(p.spec?.containers ?? []).length}`],
    ["Status", podStatus],
    ["Restarts", (p) => (p.status?.containerStatuses ?? []).reduce((n: number, c: Json) => n + (c.restartCount ?? 0), 0)],
    ["Age", age],
    ["IP", (p) => p.status?.podIP ?? "<none>", 1],
    ["Node", (p) => p.spec?.nodeName ?? "<none>", 1],
  ],
  deployments: [
    ["Ready", (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`],
    ["Up-to-date", (d) => d.status?.updatedReplicas ?? 0],
    ["Available", (d) => d.status?.availableReplicas ?? 0],
    ["Age", age],
    ["Containers", containers, 1],
    ["Images", images, 1],
  ],
  statefulsets: [
    ["Ready", (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`],
    ["Age", age],
    ["Containers", containers, 1],
    ["Images", images, 1],
  ],
  replicasets: [
    ["Desired", (r) => r.spec?.replicas ?? 1],
    ["Current", (r) => r.status?.replicas ?? 0],
    ["Ready", (r) => r.status?.readyReplicas ?? 0],
    ["Age", age],
    ["Images", images, 1],
  ],
  scaledobjects: [
    ["ScaleTargetKind", (o) => o.status?.scaleTargetKind ?? ""],
    ["ScaleTargetName", (o) => o.spec?.scaleTargetRef?.name ?? ""],
    ["Min", (o) => o.spec?.minReplicaCount ?? ""],
    ["Max", (o) => o.spec?.maxReplicaCount ?? ""],
    ["Triggers", (o) => (o.spec?.triggers ?? []).map((t: Json) => t.type).join(",")],
    ["Ready", (o) => cond(o, "Ready")],
    ["Active", (o) => cond(o, "Active")],
    ["Fallback", (o) => cond(o, "Fallback")],
    ["Paused", (o) => cond(o, "Paused")],
    ["Age", age],
  ],
  nodes: [
    ["Status", (n) => (n.spec?.unschedulable ? "Ready,SchedulingDisabled" : "Ready")],
    ["Age", age],
    ["Labels", (n) => Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(","), 1],
  ],
  namespaces: [
    ["Status", (n) => n.status?.phase ?? "Active"],
    ["Age", age],
  ],
  events: [
    ["Last Seen", (e) => e.lastTimestamp ?? ""],
    ["Type", (e) => e.type ?? ""],
    ["Reason", (e) => e.reason ?? ""],
    ["Object", (e) => `${String(e.involvedObject?.kind ?? "").toLowerCase()}/${e.involvedObject?.name ?? ""}`],
    ["Message", (e) => e.message ?? ""],
  ],
};

export function toTable(t: ResourceType, items: KObject[], resourceVersion: string): Json {
  const cols: Column[] = [["Name", (o) => o.metadata.name], ...(COLUMNS[t.resource] ?? [["Age", age]])];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: cols.map(([name, , priority]) => ({
      name,
      type: name === "Restarts" || name === "Min" || name === "Max" ? "integer" : "string",
      format: name === "Name" ? "name" : "",
      description: "",
      priority: priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: cols.map(([, cell]) => cell(o)),
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
