// Kubernetes quantities ("4", "500m", "16Gi") as numbers, read by @kubernetes/client-node's
// quantityToScalar. The package root does not re-export it, hence the path into dist/ (util.js
// imports nothing, so config validation stays light).
import { quantityToScalar } from "@kubernetes/client-node/dist/util.js";

const GIB = 2 ** 30;

/**
 * The quantity in base units (cores, bytes), or undefined when it is not one quantityToScalar reads.
 * quantityToScalar returns a number for plain and milli values and a bigint for byte suffixes; it
 * rejects fractions with a suffix ("1.5Gi", which Kubernetes accepts) and reads "" as 0, so empty
 * text counts as unreadable here.
 */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  if (q.trim() === "") return undefined;
  try {
    return Number(quantityToScalar(q.trim()));
  } catch {
    return undefined;
  }
}

export function bytesToGiB(bytes: number): number {
  return bytes / GIB;
}

/** What a message says when a quantity cannot be read. */
export const QUANTITY_HINT = "e.g. 500m, 4, 16Gi; before Ki/Mi/Gi only whole numbers: 1536Mi, not 1.5Gi";
