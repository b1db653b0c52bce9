import { createHash } from "node:crypto";

export interface ModelSpec {
  name: string;
  /** Dense embedding size returned by encode. */
  dims: number;
}

/** Models every simulated worker serves. Dimensions match the real models. */
export const DEFAULT_MODELS: readonly ModelSpec[] = [
  { name: "BAAI/bge-m3", dims: 1024 },
  { name: "sentence-transformers/all-MiniLM-L6-v2", dims: 384 },
  { name: "intfloat/e5-base-v2", dims: 768 },
];

/** A deterministic unit vector for a text, so the same input always embeds the same way. */
export function embed(text: string, dims: number): number[] {
  const out = new Array<number>(dims);
  let seed = createHash("sha256").update(text).digest();
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    if (i % 16 === 0 && i > 0) seed = createHash("sha256").update(seed).digest();
    const v = (seed.readUInt16BE((i % 16) * 2) / 65535) * 2 - 1;
    out[i] = v;
    norm += v * v;
  }
  const n = Math.sqrt(norm) || 1;
  return out.map((v) => Math.round((v / n) * 1e6) / 1e6);
}
