/**
 * The pure parts of a cluster directory: ports kept across restarts (moved only when taken) and
 * the marker that keeps `cluster delete` away from directories that are not clusters.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { claimClusterDir, isClusterDir } from "../../../cluster/clusterDir.js";
import { deleteEmbeddedCluster, embeddedClusterStatus } from "../../../cluster/index.js";
import { PORTS_FILE, stablePorts } from "../../../cluster/ports.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sie-cluster-dir-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe("stablePorts", () => {
  it("keeps saved ports, moves only a taken one and says so, and keeps other components' entries", async () => {
    const dir = fs.mkdtempSync(path.join(scratch, "ports-"));
    const first = await stablePorts(dir, ["a", "b"]);
    expect(new Set(Object.values(first)).size).toBe(2);
    await stablePorts(dir, ["endpoints"]);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, PORTS_FILE), "utf8")) as Record<string, number>;

    expect(await stablePorts(dir, ["a", "b"])).toEqual(first);

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(first.b, "127.0.0.1", r));
    try {
      const moved: string[] = [];
      const again = await stablePorts(dir, ["a", "b"], (l) => moved.push(l));
      expect(again.a).toBe(first.a);
      expect(again.b).not.toBe(first.b);
      expect(again.b).not.toBe(saved["endpoints"]);
      expect(moved).toEqual([`port ${first.b} saved for b is taken; using ${again.b} instead`]);
      const after = JSON.parse(fs.readFileSync(path.join(dir, PORTS_FILE), "utf8")) as Record<string, number>;
      expect(after).toEqual({ a: first.a, b: again.b, endpoints: saved["endpoints"] });
    } finally {
      squatter.close();
    }
  });
});

describe("cluster directories", () => {
  it("claims a missing or empty directory, refuses one with other files, and never deletes it", async () => {
    const fresh = path.join(scratch, "fresh");
    claimClusterDir(fresh);
    expect(isClusterDir(fresh)).toBe(true);
    claimClusterDir(fresh);

    const other = fs.mkdtempSync(path.join(scratch, "other-"));
    fs.writeFileSync(path.join(other, "notes.txt"), "mine");
    expect(() => claimClusterDir(other)).toThrow(/not a sie-fleet cluster directory and is not empty \(it holds notes\.txt\)/);
    await expect(deleteEmbeddedCluster(other)).rejects.toMatchObject({ code: "not-a-cluster-dir", exitCode: 2 });
    expect(fs.existsSync(path.join(other, "notes.txt"))).toBe(true);

    expect(await embeddedClusterStatus(fresh)).toMatchObject({ state: "stopped", exists: true });
    expect(await deleteEmbeddedCluster(fresh)).toMatchObject({ deleted: true, stopped: false });
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it("reports a cluster whose daemon died without cleaning up as stale", async () => {
    const dir = path.join(scratch, "stale");
    claimClusterDir(dir);
    // A pid that is certainly not a cluster daemon: this test process.
    fs.writeFileSync(
      path.join(dir, "cluster.json"),
      JSON.stringify({ pid: process.pid, server: "https://127.0.0.1:1", kubeconfigPath: path.join(dir, "kubeconfig") }),
    );
    fs.writeFileSync(path.join(dir, "daemon.log"), "2026-01-01T00:00:00.000Z ready\n");
    expect(await embeddedClusterStatus(dir)).toMatchObject({ state: "stale", pid: process.pid, lastLog: expect.stringContaining("ready") });
  });
});
