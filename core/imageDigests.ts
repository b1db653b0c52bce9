/**
 * Image digests as the pods run them. A tag is a name a registry may point elsewhere at any time;
 * the digest in a container's `imageID` is what the node actually pulled, so a record of digests
 * says exactly what a run verified. Pure: kube/podDigests.ts reads them from the cluster.
 */
import type { JsonValue } from "./types.js";

/** One image a workload's pods run, at one digest (pods that agree are counted together). */
export interface ImageDigest {
  component: "worker" | "gateway" | "config";
  /** Worker pool (StatefulSets only). */
  pool?: string;
  /** `StatefulSet/<name>` or `Deployment/<name>`. */
  workload: string;
  /** The image reference the pod spec asks for, e.g. `ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default`. */
  image: string;
  /** `sha256:<64 hex>`. */
  digest: string;
  pods: number;
}

const SHA256 = /sha256:[0-9a-f]{64}/;

/**
 * The digest in a container status' imageID, whatever the runtime's spelling: `sha256:…`,
 * `docker-pullable://repo@sha256:…`, `ghcr.io/x/y@sha256:…`. Undefined while the image is not
 * pulled (empty imageID) or for an ID without a sha256 digest.
 */
export function digestOfImageId(imageID: string | undefined): string | undefined {
  return imageID ? SHA256.exec(imageID)?.[0] : undefined;
}

/** `sha256:1a2b…` → `1a2b3c4d5e6f`: enough to tell digests apart in a table. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** Distinct digests of a record, short, in a stable order: the `history` table's column. */
export function digestSummary(digests: readonly ImageDigest[] | undefined): string {
  if (!digests || digests.length === 0) return "";
  return [...new Set(digests.map((d) => shortDigest(d.digest)))].sort().join(",");
}

/** Where a digest was seen, for messages: `StatefulSet/sie-worker-l4 (pool l4)`. */
export function digestPlace(d: Pick<ImageDigest, "workload" | "pool">): string {
  return d.pool ? `${d.workload} (pool ${d.pool})` : d.workload;
}

/** A digest record as journal data. */
export function digestsJson(digests: readonly ImageDigest[]): JsonValue {
  return JSON.parse(JSON.stringify(digests)) as JsonValue;
}

/** A digest record read back from journal data; entries that are not digests are dropped. */
export function digestsFromJson(v: unknown): ImageDigest[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter(
    (d): d is ImageDigest =>
      typeof d === "object" &&
      d !== null &&
      typeof (d as ImageDigest).image === "string" &&
      typeof (d as ImageDigest).digest === "string" &&
      typeof (d as ImageDigest).workload === "string",
  );
}
