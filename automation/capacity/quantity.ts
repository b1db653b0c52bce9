/**
 * Kubernetes resource quantities ("500m", "16Gi", "1.5", "2e3") as plain numbers, and back to
 * short text for messages. Pure. Doubles are exact enough: capacity sums a few hundred requests,
 * far below where a double stops holding whole bytes.
 */

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
// An exponent needs digits after the e, so "1E" is one exa and "1e3" is a thousand.
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The quantity's value in base units (cores, bytes, devices); throws a TypeError naming it when it is not one. */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = QUANTITY.exec(q.trim());
  if (!m) throw new TypeError(`"${q}" is not a Kubernetes quantity (e.g. 500m, 16Gi, 2)`);
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** Resources measured in bytes; shown in Gi. */
const BYTE_RESOURCES = new Set(["memory", "ephemeral-storage", "hugepages-2Mi", "hugepages-1Gi"]);

/** A resource amount as people write it: "16Gi" for bytes, "7.8" cores, "2" GPUs. */
export function formatQuantity(resource: string, value: number): string {
  if (BYTE_RESOURCES.has(resource)) return `${round(value / BINARY["Gi"]!)}Gi`;
  return String(round(value));
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
