/**
 * A cluster directory holds one cluster's state (certificates, etcd data, ports, logs). A marker
 * file says the directory is ours, so `cluster delete` can remove it whole without ever wiping a
 * directory someone pointed --dir at by mistake.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../core/errors.js";

const MARKER = ".sie-fleet-cluster";

export function isClusterDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER));
}

/** Makes `dir` a cluster directory: it must be missing, empty, or one already. */
export function claimClusterDir(dir: string): void {
  if (isClusterDir(dir)) return;
  const entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (entries.length > 0) {
    throw new UsageError(
      `${dir} is not a sie-fleet cluster directory and is not empty (it holds ${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""})`,
      {
        code: "not-a-cluster-dir",
        hint: "pass --dir with a new or empty directory, e.g. --dir .sie-fleet/cluster",
      },
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), "A sie-fleet embedded Kubernetes cluster: `sie-fleet cluster delete --dir <this dir>` removes it.\n");
}

/** Written whole or not at all: readers never see half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
