/**
 * Loopback ports for the cluster's components. A cluster directory keeps its ports in
 * `<dir>/ports.json` so a restart listens where it did before: Pulumi's Kubernetes provider
 * treats a changed API server URL as a different cluster and would plan to replace everything
 * deployed to it.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { writeJsonAtomic } from "./clusterDir.js";

export const PORTS_FILE = "ports.json";

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something could listen on 127.0.0.1:`port` right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function readPorts(dir: string): Record<string, number> {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, PORTS_FILE), "utf8")) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(raw).filter((e): e is [string, number] => Number.isInteger(e[1])));
  } catch {
    return {};
  }
}

/**
 * One port per name: the one saved in `<dir>/ports.json` while it is free, else a new one (and
 * `onChange` says which moved and why). Saves the result, keeping entries for other names, so
 * the control plane and the endpoint server each keep theirs.
 */
export async function stablePorts<N extends string>(
  dir: string,
  names: readonly N[],
  onChange: (line: string) => void = () => undefined,
): Promise<Record<N, number>> {
  const saved = readPorts(dir);
  // Other components' saved ports are not handed out here, so they can have them back.
  const chosen = new Set(
    Object.entries(saved)
      .filter(([k]) => !(names as readonly string[]).includes(k))
      .map(([, v]) => v),
  );
  const out = {} as Record<N, number>;
  for (const name of names) {
    const before = saved[name];
    if (before !== undefined && !chosen.has(before) && (await portIsFree(before))) {
      out[name] = before;
    } else {
      let port = await freePort();
      while (chosen.has(port)) port = await freePort();
      if (before !== undefined) onChange(`port ${before} saved for ${name} is taken; using ${port} instead`);
      out[name] = port;
    }
    chosen.add(out[name]);
  }
  writeJsonAtomic(path.join(dir, PORTS_FILE), { ...saved, ...out });
  return out;
}
