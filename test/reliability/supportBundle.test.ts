// `sie-fleet support-bundle`: a stack that was never deployed, with the embedded cluster nowhere to
// be found, still gives a bundle (exit 0) with what exists and notes that say what is missing and
// why; once deployed, the bundle holds what the real setup has: the release's pods and events from
// the cluster, the Helm release's status from the stack, and the embedded cluster's own logs.
// (Every byte of a full bundle is grepped for secrets in secrets.test.ts.)
import * as fs from "node:fs";
import * as path from "node:path";
import { extract } from "tar";
import { beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_DIR_ENV } from "../../infra/platforms/embeddedCluster.js";
import { jsonLines, runCli, SCENARIO_TIMEOUT_MS, useStackFixture, waitReleaseReady, type StackFixture } from "./harness.js";

const fixture = useStackFixture({ deploy: false });
let fx: StackFixture;

interface BundleResult {
  path: string;
  files: { name: string }[];
  notes: string[];
}

/** Runs support-bundle and extracts it; returns the result line and a reader of the bundle's files. */
async function bundle(name: string, env: Record<string, string> = {}): Promise<{ res: BundleResult; stderr: string; read(file: string): string }> {
  const out = path.join(fx.dir, `${name}.tar.gz`);
  const r = await runCli(fx, ["support-bundle", "--stack", fx.stack, "--output", out, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  const res = jsonLines(r.stdout).find((l) => l["kind"] === "result")?.["result"] as BundleResult;
  expect(res.path).toBe(out);
  const dir = path.join(fx.dir, name);
  fs.mkdirSync(dir);
  await extract({ file: out, cwd: dir });
  const root = path.join(dir, `sie-fleet-support-${fx.stack}`);
  expect(fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length).toBe(res.files.length);
  return { res, stderr: r.stderr, read: (file) => fs.readFileSync(path.join(root, file), "utf8") };
}

describe("support-bundle", () => {
  beforeAll(() => {
    fx = fixture();
  });

  it("a never-deployed stack with no embedded cluster: exit 0, what exists, and notes", async () => {
    const b = await bundle("never-deployed", { [CLUSTER_DIR_ENV]: path.join(fx.dir, "no-cluster") });
    const names = b.res.files.map((f) => f.name);
    for (const want of ["manifest.json", `stack/Pulumi.${fx.stack}.yaml`, "lock.json", "versions.json"]) expect(names).toContain(want);
    expect(names).not.toContain("status.json");
    expect(names.filter((n) => n.startsWith("cluster/") || n.startsWith("embedded-cluster/"))).toEqual([]);
    const notes = b.res.notes.join("\n");
    expect(notes).toMatch(new RegExp(`stack: not included \\(stack "${fx.stack}" has never been deployed`));
    expect(notes).toMatch(/status: not included/);
    expect(notes).toMatch(/cluster: not included/);
    expect(notes).toMatch(new RegExp(`journals: stack "${fx.stack}" has no runs`));
    expect(notes).toMatch(/embedded cluster: not running \(no cluster\.json in .*no-cluster\)/);
    expect(b.stderr).not.toMatch(/^\s+at /m);
  });

  it("an --output in a directory that does not exist: exit 2 naming it", async () => {
    const r = await runCli(fx, ["support-bundle", "--stack", fx.stack, "--output", path.join(fx.dir, "nope", "b.tar.gz")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --output .*nope\/b\.tar\.gz: directory .*nope does not exist/m);
    expect(fs.existsSync(path.join(fx.dir, "nope"))).toBe(false);
  });

  it(
    "a deployed stack: the release's pods and events, the Helm release's status, the embedded cluster's logs",
    async () => {
      const up = await runCli(fx, ["up", "--stack", fx.stack, "--yes"]);
      expect(up.code, up.stderr.slice(-3000)).toBe(0);
      await waitReleaseReady(fx);
      const b = await bundle("deployed");
      // `up` writes no run journal; everything else is there.
      expect(b.res.notes).toEqual([expect.stringMatching(/^journals: stack "local" has no runs/)]);

      const pods = JSON.parse(b.read("cluster/pods.json")) as {
        namespace: string;
        pods: { name: string; phase: string; node: string; containers: { image: string; ready: boolean }[] }[];
      };
      expect(pods.namespace).toBe(fx.namespace);
      const live = (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items.map((p) => p.metadata?.name).sort();
      expect(pods.pods.map((p) => p.name)).toEqual(live);
      expect(pods.pods.every((p) => p.phase === "Running" && p.node && p.containers.every((k) => k.ready))).toBe(true);

      const events = JSON.parse(b.read("cluster/events.json")) as { namespace: string; events: { reason: string; object: string }[] };
      expect(events.namespace).toBe(fx.namespace);
      expect(events.events.some((e) => e.reason === "Scheduled" && e.object.startsWith("Pod/"))).toBe(true);

      const release = JSON.parse(b.read("stack/release.json")) as {
        outputs: Record<string, unknown>;
        helmReleases: { status: { status: string; revision: number; namespace: string } }[];
      };
      expect(release.outputs["namespace"]).toBe(fx.namespace);
      expect(release.outputs["imageTag"]).toBe("v0.3.1");
      expect(release.outputs).not.toHaveProperty("kubeconfig");
      expect(release.helmReleases).toEqual([
        expect.objectContaining({ status: expect.objectContaining({ status: "deployed", revision: 1, namespace: fx.namespace }) }),
      ]);

      const info = JSON.parse(b.read("embedded-cluster/cluster.json")) as { server: string };
      expect(info.server).toBe(fx.cluster.server);
      expect(b.read("embedded-cluster/daemon.log")).toMatch(/ready in/);
      for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"])
        expect(b.res.files.map((f) => f.name)).toContain(`embedded-cluster/logs/${c}.log`);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
