/**
 * Fault scopes, moved tags and start delays are one kind of list: entries keyed by a target,
 * changed by requests that add, replace (same target) or remove (value null) one, and stored as
 * JSON beside each other in the fault-scope ConfigMap. Their list logic lives here once.
 */

/** Adds, replaces (same target) or removes (`keep` answers undefined) entries; `clear` starts from none. */
export function applyChanges<T, C>(
  items: readonly T[],
  changes: readonly C[],
  sameTarget: (item: T, change: C) => boolean,
  keep: (change: C) => T | undefined,
  clear = false,
): T[] {
  let out = clear ? [] : [...items];
  for (const c of changes) {
    out = out.filter((i) => !sameTarget(i, c));
    const kept = keep(c);
    if (kept !== undefined) out.push(kept);
  }
  return out;
}

/** The entries stored under `key`; an entry `parse` refuses (throws or answers undefined), or unreadable JSON, counts as none. */
export function readStoredList<T>(data: Record<string, string> | undefined, key: string, parse: (raw: unknown) => T | undefined): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data?.[key] ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((raw) => {
    try {
      const item = parse(raw);
      return item === undefined ? [] : [item];
    } catch {
      return [];
    }
  });
}
