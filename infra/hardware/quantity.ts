// Kubernetes quantities ("4", "500m", "16Gi") as numbers, read by @kubernetes/client-node's
// quantityToScalar, and back to short text for messages. Pure. The package root (1.4.0) does not
// re-export quantityToScalar, hence the path into dist/ (util.js imports nothing, so config
// validation stays light). Doubles are exact enough: capacity sums a few hundred requests, far below
// where a double stops holding whole bytes.
import { quantityToScalar } from "@kubernetes/client-node/dist/util.js";

const GIB = 2 ** 30;

// quantityToScalar reads every form the API server returns: it puts quantities in canonical form
// before serializing, which never has fractional digits ("1.5" comes back as "1500m", "1.5Gi" as
// "1536Mi", "1.5G" as "1500M"). What people write in stack config need not be canonical, and
// Kubernetes accepts a fraction before a suffix ("1.5Gi", "0.5k", "2.5G"), which quantityToScalar
// rejects because it reads the number before k, M, G, T, P, E and the binary suffixes as a BigInt.
// Those forms alone are read here: the fraction times what quantityToScalar makes of one unit.
const FRACTION_BEFORE_SUFFIX = /^([+-]?(?:\d+\.\d*|\.\d+))(k|[KMGTPE]i|[MGTPE])$/;

/**
 * The quantity in base units (cores, bytes), or undefined when it is not one. Empty text counts as
 * unreadable (quantityToScalar reads "" as 0), and so does anything that is not a finite number.
 */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  const text = q.trim();
  if (text === "") return undefined;
  let value: number;
  try {
    value = Number(quantityToScalar(text));
  } catch {
    const m = FRACTION_BEFORE_SUFFIX.exec(text);
    if (!m) return undefined;
    value = Number(m[1]) * Number(quantityToScalar(`1${m[2]}`));
  }
  return Number.isFinite(value) ? value : undefined;
}

/** What a message says when a quantity cannot be read. */
export const QUANTITY_HINT = "e.g. 500m, 4, 16Gi, 1.5Gi (suffixes are case-sensitive: Gi, not gi or GB)";

/** The quantity in base units; throws a TypeError naming it when it is not one. */
export function parseQuantity(q: string | number): number {
  const value = quantityValue(q);
  if (value === undefined) throw new TypeError(`"${q}" is not a Kubernetes quantity (${QUANTITY_HINT})`);
  return value;
}

export function bytesToGiB(bytes: number): number {
  return bytes / GIB;
}

/** Resources measured in bytes; shown in Gi. */
const BYTE_RESOURCES = new Set(["memory", "ephemeral-storage", "hugepages-2Mi", "hugepages-1Gi"]);

/** A resource amount as people write it: "16Gi" for bytes, "7.8" cores, "2" GPUs. */
export function formatQuantity(resource: string, value: number): string {
  if (BYTE_RESOURCES.has(resource)) return `${round(bytesToGiB(value))}Gi`;
  return String(round(value));
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
