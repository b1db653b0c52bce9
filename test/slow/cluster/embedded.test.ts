/**
 * The embedded cluster as a product component: a directory is one cluster that keeps its identity
 * (API server URL, CA, kubeconfig, objects) across restarts, and `sie-fleet cluster
 * start|status|stop|delete` runs it in a background daemon that goes down whole when a component
 * dies. Prints the start timings. Skips (with the reason) when the binaries are not built.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { isProcessAlive } from "../../../core/processes.js";
import { egressSocketPath, startControlPlane } from "../../../cluster/controlPlane.js";
import { defaultNodes } from "../../../cluster/nodes.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKubeTools } from "../../../cluster/tools.js";
import { runCliInProcess } from "../../automation/inProcessCli.js";

const tools = findKubeTools();
if (!tools.ok) console.warn(`[embedded cluster tests] skipped: ${tools.reason}`);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-embedded-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const FLEET = defaultNodes().length;

function kubeClient(kubeconfigPath: string): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc.makeApiClient(k8s.CoreV1Api);
}

const marker = (name: string): k8s.V1ConfigMap => ({ metadata: { name, namespace: "default" }, data: { survives: "restarts" } });

/** `sie-fleet --json <args>` in-process; the result object, or the error's, with the exit code. */
async function cli(args: string[]): Promise<{ code: number; result: Record<string, unknown>; stderr: string }> {
  const r = await runCliInProcess(["--json", ...args], { cwd: scratch });
  const line = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { result?: Record<string, unknown>; error?: Record<string, unknown> };
  return { code: r.code, result: line.result ?? line.error ?? {}, stderr: r.stderr };
}

describe.skipIf(!tools.ok)(`embedded cluster${tools.ok ? "" : ` (skipped: ${tools.reason})`}`, () => {
  it("restarted on the same dir, it is the same cluster: server URL, CA, kubeconfig and objects", async () => {
    const dir = path.join(scratch, "inproc");
    const first = await startControlPlane({ dir });
    let before: { server: string; ca: string; kubeconfig: string };
    try {
      expect(first.restarted).toBe(false);
      await kubeClient(first.kubeconfigPath).createNamespacedConfigMap({ namespace: "default", body: marker("identity") });
      before = { server: first.server, ca: fs.readFileSync(first.pki.caCert, "utf8"), kubeconfig: fs.readFileSync(first.kubeconfigPath, "utf8") };
      console.log(`[embedded] first start ${JSON.stringify(first.timings)}`);
    } finally {
      await first.stop();
    }

    const progress: string[] = [];
    const second = await startControlPlane({ dir, onProgress: (l) => progress.push(l) });
    try {
      console.log(`[embedded] restart ${JSON.stringify(second.timings)}`);
      expect(second.restarted).toBe(true);
      expect(second.server).toBe(before.server);
      expect(fs.readFileSync(second.pki.caCert, "utf8")).toBe(before.ca);
      expect(fs.readFileSync(second.kubeconfigPath, "utf8")).toBe(before.kubeconfig);
      expect(progress.some((l) => l.startsWith("certificates reused"))).toBe(true);
      expect(progress.find((l) => l.startsWith("KEDA CRDs applied"))).toMatch(new RegExp(`0 of ${FLEET} fake nodes registered \\(${FLEET} existed\\)`));
      const core = kubeClient(second.kubeconfigPath);
      expect((await core.readNamespacedConfigMap({ name: "identity", namespace: "default" })).data).toEqual({ survives: "restarts" });
      const nodes = (await core.listNode()).items;
      expect(nodes).toHaveLength(FLEET);
      expect(nodes.filter((n) => n.metadata?.labels?.["cloud.google.com/gke-accelerator"] === "nvidia-l4")).toHaveLength(6);
    } finally {
      await second.stop();
    }
  });

  it("cluster start → status → stop through the CLI; the daemon brings the same cluster back and goes down whole when a component dies", async () => {
    const dir = path.join(scratch, "daemon");
    const t0 = Date.now();
    const started = await cli(["cluster", "start", "--dir", dir]);
    expect(started.code, started.stderr).toBe(0);
    const first = started.result as {
      pid: number;
      server: string;
      kubeconfigPath: string;
      alreadyRunning: boolean;
      restarted: boolean;
      readyInMs: number;
      nodes: number;
    };
    console.log(`[embedded] cluster start (daemon, first) ${Date.now() - t0} ms wall, ready in ${first.readyInMs} ms`);
    try {
      expect(first).toMatchObject({ alreadyRunning: false, restarted: false, nodes: FLEET, kubeconfigPath: path.join(dir, "kubeconfig") });
      expect(started.stderr).toMatch(/cluster: .*kube-apiserver ready at https:\/\/127\.0\.0\.1:/);
      // The endpoint server serves the API server's egress (pod and service proxy) beside it.
      expect(fs.statSync(egressSocketPath(dir)).isSocket()).toBe(true);

      const status = await cli(["cluster", "status", "--dir", dir]);
      expect(status.result).toMatchObject({ state: "running", pid: first.pid, server: first.server, nodes: { ready: FLEET, total: FLEET } });
      const components = status.result["components"] as { name: string; pid: number; alive: boolean }[];
      expect(components.map((c) => c.name)).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
      expect(components.every((c) => c.alive)).toBe(true);

      expect((await cli(["cluster", "start", "--dir", dir])).result).toMatchObject({ alreadyRunning: true, pid: first.pid });
      await kubeClient(first.kubeconfigPath).createNamespacedConfigMap({ namespace: "default", body: marker("via-daemon") });

      const stopped = await cli(["cluster", "stop", "--dir", dir]);
      expect(stopped.result).toMatchObject({ stopped: true, pid: first.pid });
      // Gone, and reaped (the daemon is this process's child; its components are the daemon's).
      await waitFor(
        "the daemon and its components to be gone",
        async () => ([first.pid, ...components.map((c) => c.pid)].some(isProcessAlive) ? undefined : true),
        { timeoutMs: 10_000 },
      );
      expect((await cli(["cluster", "status", "--dir", dir])).result).toMatchObject({ state: "stopped", exists: true });
      expect(fs.existsSync(egressSocketPath(dir))).toBe(false);

      const t1 = Date.now();
      const again = (await cli(["cluster", "start", "--dir", dir])).result as typeof first;
      console.log(`[embedded] cluster start (daemon, restart) ${Date.now() - t1} ms wall, ready in ${again.readyInMs} ms`);
      expect(again).toMatchObject({ alreadyRunning: false, restarted: true, server: first.server });
      expect((await kubeClient(again.kubeconfigPath).readNamespacedConfigMap({ name: "via-daemon", namespace: "default" })).data).toEqual({
        survives: "restarts",
      });

      // A dead scheduler would leave pods Pending forever behind a "running" status.
      const running = (await cli(["cluster", "status", "--dir", dir])).result;
      const scheduler = (running["components"] as { name: string; pid: number }[]).find((c) => c.name === "kube-scheduler")!;
      process.kill(scheduler.pid, "SIGKILL");
      await waitFor("the daemon to go down", async () => (isProcessAlive(again.pid) ? undefined : true), { timeoutMs: 60_000 });
      expect((await cli(["cluster", "status", "--dir", dir])).result).toMatchObject({ state: "stopped" });
      expect(fs.readFileSync(path.join(dir, "daemon.log"), "utf8")).toMatch(/kube-scheduler killed by SIGKILL; stopping the rest of the cluster/);
    } finally {
      const deleted = await cli(["--yes", "cluster", "delete", "--dir", dir]);
      expect(deleted.result).toMatchObject({ deleted: true });
      expect(fs.existsSync(dir)).toBe(false);
    }
  });
});
