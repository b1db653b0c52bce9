// README's "Plain Pulumi" commands, run as written in a fresh copy of the repository: the Pulumi
// CLI alone (no sie-fleet command but `cluster start`) deploys the dev stack, the real sie-cluster
// chart through the real Helm release, onto the embedded control plane.
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { readmeBlock, repoCopy } from "../support/repoCopy.js";
import { helm } from "../chart/helm.js";

const run = promisify(execFile);
const NS = "sie-dev";

describe("plain Pulumi, as README shows it", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let output = "";

  beforeAll(async () => {
    dir = repoCopy("sie-fleet-plain-");
    env = {
      ...process.env,
      // What a user's shell has: no sie-fleet test settings, their own Pulumi home.
      PULUMI_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-pulumi-home-")),
      PULUMI_CONFIG_PASSPHRASE: "plain-pulumi-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // Tool builds are shared with the rest of the run; the chart copies live beside the real repo.
      SIE_FLEET_TOOLS_DIR: process.env.SIE_FLEET_TOOLS_DIR ?? path.join(REPO_ROOT, ".sie-fleet", "tools"),
      SIE_FLEET_CHART_BASE: REPO_ROOT,
    };
    for (const k of ["PULUMI_BACKEND_URL", "SIE_FLEET_CLUSTER_DIR", "SIE_FLEET_STATE_DIR", "KUBECONFIG"]) delete env[k];
    const block = readmeBlock("plain-pulumi");
    output = await new Promise<string>((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", "-c", block], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`README block exited ${code}:\n${out.slice(-4000)}`))));
    });
  }, 40 * 60_000);

  afterAll(async () => {
    if (!dir) return;
    await run(process.execPath, [path.join(dir, "bin", "sie-fleet.js"), "cluster", "delete", "--yes"], { cwd: dir, env }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("pulumi up created the Helm release and the ScaledObjects", () => {
    expect(output).toMatch(/kubernetes:helm\.sh\/v3:Release\s+sie-cluster\s+created/);
    expect(output).toMatch(/kubernetes:keda\.sh\/v1alpha1:ScaledObject\s+l4-scaledobject\s+created/);
    expect(output).not.toMatch(/error:/i);
  });

  it("the chart's workloads run in the cluster the stack names, and Helm records the release", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path.join(dir, ".sie-fleet", "cluster", "kubeconfig"));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const sts = (await apps.listNamespacedStatefulSet({ namespace: NS })).items.map((s) => s.metadata?.name).sort();
    expect(sts).toEqual(["sie-sie-cluster-worker-a100", "sie-sie-cluster-worker-l4"]);
    const list = JSON.parse(
      await helm(["list", "--kubeconfig", path.join(dir, ".sie-fleet", "cluster", "kubeconfig"), "--namespace", NS, "--output", "json"]),
    ) as { name: string; chart: string; status: string }[];
    expect(list).toEqual([expect.objectContaining({ name: "sie", chart: "sie-cluster-0.3.1", status: "deployed" })]);
  });

  it(
    "a second preview shows no changes",
    async () => {
      const pulumiBin = path.join(
        (await run(path.join(dir, "scripts", "ensure-pulumi"), [], { cwd: dir, env })).stdout.trim().split("\n").pop()!,
        "bin",
        "pulumi",
      );
      const { stdout } = await run(pulumiBin, ["preview", "--stack", "dev", "--expect-no-changes", "--non-interactive"], {
        cwd: dir,
        env: { ...env, PULUMI_BACKEND_URL: `file://${dir}/.sie-fleet/state` },
      });
      expect(stdout).toMatch(/\d+ unchanged/);
    },
    5 * 60_000,
  );
});
