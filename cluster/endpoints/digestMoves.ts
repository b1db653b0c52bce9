/**
 * Moved tags: "in namespace N, the registry now resolves version V's tags to another digest", as a
 * registry does after someone pushes over a tag. Pods here pull nothing; kwok reports a
 * container's imageID as sha256(image + salt), where the salt is the pod annotation
 * DIGEST_SALT_ANNOTATION (no annotation: sha256(image), the digest every namespace agrees on).
 *
 * The fault webhook (webhook.ts) sets the annotation on SIE pods created while a move covers
 * them, so only pods created afterwards get the other digest, as only pods that pull after the
 * push would. Moves are stored beside the fault scopes (FAULT_SCOPES_OBJECT, key MOVES_KEY), so
 * they survive a server restart too.
 */
import { normalizeVersion } from "../faults.js";
import { applyChanges, readStoredList } from "./storedChanges.js";

export const DIGEST_SALT_ANNOTATION = "registry.sie-fleet.dev/digest-salt";
/** Key of the moves in the fault-scope ConfigMap. */
export const MOVES_KEY = "digestMoves.json";

export interface DigestMove {
  /** Namespace whose new pods see the moved tag; omitted = every namespace. */
  namespace?: string;
  /** Version of the image tags that moved, with or without a leading "v" (e.g. "v0.3.3"). */
  version: string;
  /** Anything non-empty; a different salt is a different digest. */
  salt: string;
}

/** One requested change: `salt: null` puts the tag back (removes the move with the same target). */
export type DigestMoveChange = Omit<DigestMove, "salt"> & { salt: string | null };

export class DigestMoveError extends Error {
  override name = "DigestMoveError";
}

const sameTarget = (a: Omit<DigestMove, "salt">, b: Omit<DigestMove, "salt">): boolean =>
  (a.namespace ?? "") === (b.namespace ?? "") && normalizeVersion(a.version) === normalizeVersion(b.version);

/** Validates one requested move; throws DigestMoveError naming the bad field. */
export function parseMove(raw: unknown): DigestMoveChange {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (typeof r["version"] !== "string" || r["version"] === "")
    throw new DigestMoveError(`moves[].version must be the version whose tags moved, e.g. "v0.3.3", got ${JSON.stringify(r["version"])}`);
  if (r["namespace"] !== undefined && (typeof r["namespace"] !== "string" || r["namespace"] === ""))
    throw new DigestMoveError(`moves[].namespace must be a namespace name, got ${JSON.stringify(r["namespace"])}`);
  if (r["salt"] !== null && (typeof r["salt"] !== "string" || r["salt"] === ""))
    throw new DigestMoveError(`moves[].salt must be a non-empty string (or null to put the tag back), got ${JSON.stringify(r["salt"])}`);
  return {
    ...(r["namespace"] !== undefined ? { namespace: r["namespace"] as string } : {}),
    version: r["version"],
    salt: r["salt"] as string | null,
  };
}

export function applyMoveChanges(moves: readonly DigestMove[], changes: readonly DigestMoveChange[], clear = false): DigestMove[] {
  return applyChanges(moves, changes, sameTarget, (c) => (c.salt !== null ? { ...c, salt: c.salt } : undefined), clear);
}

/** The salt for a new pod of `namespace` whose image has `version` (parseImage's form), if a move covers it. */
export function moveSalt(moves: readonly DigestMove[], namespace: string, version: string): string | undefined {
  return moves.find((m) => (m.namespace === undefined || m.namespace === namespace) && normalizeVersion(m.version) === version)?.salt;
}

/** The moves stored in the ConfigMap's data; anything unreadable counts as none. */
export function readStoredMoves(data: Record<string, string> | undefined): DigestMove[] {
  return readStoredList(data, MOVES_KEY, (raw) => {
    const m = parseMove(raw);
    return m.salt === null ? undefined : { ...m, salt: m.salt };
  });
}
