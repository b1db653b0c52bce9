/**
 * Which node taints keep a pod off a node, decided as the scheduler's TaintToleration plugin
 * decides it. Pure. PreferNoSchedule only lowers a node's score, so it never blocks.
 */

export interface Taint {
  key: string;
  value?: string | undefined;
  effect: string;
}

export interface Toleration {
  key?: string | undefined;
  operator?: string | undefined;
  value?: string | undefined;
  effect?: string | undefined;
}

/**
 * What the API server's DefaultTolerationSeconds admission adds to every pod: a node that was
 * NotReady or unreachable keeps these NoExecute taints for a while after it recovered, and the
 * scheduler still places pods there.
 */
export const ADMISSION_TOLERATIONS: readonly Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
];

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  // An empty key with Exists tolerates every taint.
  if (!t.key) return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** The taints of a node that no toleration covers and that keep new pods off it. */
export function blockingTaints(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint[] {
  return taints.filter((taint) => (taint.effect === "NoSchedule" || taint.effect === "NoExecute") && !tolerations.some((t) => tolerates(t, taint)));
}

export function taintText(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`;
}
