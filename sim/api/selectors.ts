import { badRequest } from "./errors.js";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type Selector = Requirement[];

/**
 * Parses a `labelSelector` query string: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * comma-separated (commas inside parentheses belong to the set).
 */
export function parseLabelSelector(raw: string | null | undefined): Selector {
  if (!raw || raw.trim() === "") return [];
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of raw) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => parseRequirement(p.trim()));
}

function parseRequirement(p: string): Requirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p);
  if (set) {
    const values = set[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "");
    return { key: set[1]!, op: set[2] as "in" | "notin", values };
  }
  const neq = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(p);
  if (neq) return { key: neq[1]!, op: "!=", value: neq[2]! };
  const eq = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(p);
  if (eq) return { key: eq[1]!, op: "=", value: eq[2]! };
  const notExists = /^!\s*([^\s!=]+)$/.exec(p);
  if (notExists) return { key: notExists[1]!, op: "!exists" };
  if (/^[^\s!=(),]+$/.test(p)) return { key: p, op: "exists" };
  throw badRequest(`unable to parse requirement: ${JSON.stringify(p)}`);
}

export function matchesSelector(sel: Selector, labels: Record<string, string>): boolean {
  return sel.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case "=":
        return v === r.value;
      case "!=":
        return v !== r.value;
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
      case "exists":
        return v !== undefined;
      case "!exists":
        return v === undefined;
    }
  });
}

/** A `spec.selector` (LabelSelector object) as a Selector. */
export function fromLabelSelector(ls: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
} | undefined): Selector {
  const out: Selector = [];
  for (const [key, value] of Object.entries(ls?.matchLabels ?? {})) out.push({ key, op: "=", value });
  for (const e of ls?.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === "in" || op === "notin") out.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === "exists") out.push({ key: e.key, op: "exists" });
    else if (op === "doesnotexist") out.push({ key: e.key, op: "!exists" });
  }
  return out;
}

/** The string form (`a=b,c in (d)`) used by the Scale subresource's status.selector. */
export function selectorToString(sel: Selector): string {
  return sel
    .map((r) => {
      switch (r.op) {
        case "=":
        case "!=":
          return `${r.key}${r.op}${r.value}`;
        case "in":
        case "notin":
          return `${r.key} ${r.op} (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!exists":
          return `!${r.key}`;
      }
    })
    .join(",");
}

/** `fieldSelector` support for the few fields clients use: metadata.name/namespace, spec.nodeName, status.phase. */
export function parseFieldSelector(raw: string | null | undefined): (o: Record<string, any>) => boolean {
  if (!raw) return () => true;
  const reqs = raw.split(",").map((p) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(p.trim());
    if (!m) throw badRequest(`invalid field selector: ${JSON.stringify(p)}`);
    return { path: m[1]!.split("."), neg: m[2] === "!=", value: m[3]! };
  });
  return (o) =>
    reqs.every((r) => {
      let v: any = o;
      for (const seg of r.path) v = v?.[seg];
      const s = v === undefined || v === null ? "" : String(v);
      return r.neg ? s !== r.value : s === r.value;
    });
}
