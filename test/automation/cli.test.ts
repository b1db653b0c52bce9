import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "./inProcessCli.js";

const repo = path.resolve(__dirname, "../..");
const bin = path.join(repo, "bin/sie-fleet.js");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sie-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the real executable, as a user would. */
function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: scratch,
    encoding: "utf8",
    env: { ...process.env, SIE_FLEET_STACK: "", CI: "", ...env },
    input: "",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI in-process with captured streams (fast; same code path after argv). */
const inProcess = (args: string[], opts: { stdinIsTTY?: boolean; env?: NodeJS.ProcessEnv } = {}) => runCliInProcess(args, { cwd: scratch, ...opts });

describe("sie-fleet executable: flag errors exit 2 with one clear message and change nothing", () => {
  it("bad tag names the flag, the value and the expected form", () => {
    const r = cli(["upgrade", "--stack", "dev", "--to", "latest"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '--to <tag>' argument 'latest' is invalid. expected an image tag vMAJOR.MINOR.PATCH");
    expect(r.stderr).toContain("hint: sie-fleet upgrade --help");
    expect(r.stdout).toBe("");
    expect(existsSync(path.join(scratch, ".sie-fleet"))).toBe(false);
  });

  it("missing --to shows a complete example", () => {
    const r = cli(["upgrade", "--stack", "dev"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--to <tag>' not specified, e.g. `sie-fleet upgrade --stack dev --to v0.3.2`");
  });

  it("unknown flag", () => {
    const r = cli(["upgrade", "--stack", "dev", "--to", "v0.3.2", "--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--frobnicate'");
  });

  it("unknown command suggests the right one", () => {
    const r = cli(["upgrad"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'upgrad' (Did you mean upgrade?)");
  });

  it("--json turns the error into one JSON line on stdout", () => {
    const r = cli(["rollback", "--stack", "dev", "--to", "yesterday", "--json"]);
    expect(r.code).toBe(2);
    const line = JSON.parse(r.stdout.trim()) as { v: number; kind: string; error: { code: string; exitCode: number; message: string } };
    expect(line).toMatchObject({ v: 1, kind: "error", error: { code: "bad-flags", exitCode: 2 } });
    expect(line.error.message).toContain("argument 'yesterday' is invalid. expected previous, an image tag like v0.3.1, or update:<n>");
  });

  it("--help and --version exit 0", () => {
    const help = cli(["upgrade", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("--dry-run");
    expect(help.stdout).toContain("Global Options:");
    expect(cli(["--version"]).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("runCli in-process", () => {
  it("missing --stack names the flag and the env var", async () => {
    const r = await inProcess(["upgrade", "--to", "v0.3.2", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing --stack");
    expect(r.stderr).toContain("SIE_FLEET_STACK");
  });

  it("takes --stack from SIE_FLEET_STACK and validates it", async () => {
    const r = await inProcess(["history"], { env: { SIE_FLEET_STACK: "../etc" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SIE_FLEET_STACK "../etc" is not a valid stack name');
  });

  it("refuses a changing command without --yes when nobody can confirm", async () => {
    for (const args of [["upgrade", "--to", "v0.3.2"], ["rollback", "--to", "previous"], ["up"], ["recover"]]) {
      const r = await inProcess(["--stack", "dev", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("re-run with --yes");
    }
  });

  it("upgrade --stacks: a bad list, both --stack and --stacks, or --dry-run are refused before anything runs", async () => {
    const bad = await inProcess(["upgrade", "--stacks", "staging,../prod", "--to", "v0.3.2", "--yes"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("expected stack names separated by commas");
    const both = await inProcess(["upgrade", "--stack", "dev", "--stacks", "staging,prod", "--to", "v0.3.2", "--yes"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--stacks and --stack");
    const dry = await inProcess(["upgrade", "--stacks", "staging,prod", "--to", "v0.3.2", "--dry-run"]);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain("--dry-run does not go with --stacks");
  });

  it("--skip-check takes known check names only, before anything runs", async () => {
    const r = await inProcess(["rollback", "--stack", "dev", "--to", "previous", "--skip-check", "prometheus", "--skip-check", "metrics", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--skip-check <name>' argument 'metrics' is invalid. expected a check name, one of rollout,");
    expect(existsSync(path.join(scratch, ".sie-fleet"))).toBe(false);
  });

  it("global flags work after the command too", async () => {
    const r = await inProcess(["upgrade", "--to", "bad", "--json", "--stack", "dev"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "error", command: "upgrade" });
  });

  it("support-bundle without --stack: exit 2 with an example", async () => {
    const r = await inProcess(["support-bundle"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing --stack");
    expect(r.stderr).toContain("sie-fleet support-bundle --stack dev");
  });

  it("no command prints help and exits 2", async () => {
    const r = await inProcess([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: sie-fleet");
  });

  it.each([
    [["--karpenter"], "--karpenter needs --nodes-from"],
    [["--node-delay", "30s"], "--node-delay tunes Karpenter's nodes, but --karpenter is not given"],
    [["--nodes-from", path.join(repo, "stacks/Pulumi.eks-prod.yaml"), "--karpenter", "--node-delay", "5x"], "--node-delay 5x: not a duration Karpenter takes"],
    [
      ["--nodes-from", path.join(repo, "stacks/Pulumi.gke-prod.yaml"), "--karpenter", "--consolidate-after", "soon"],
      "--consolidate-after soon: not a duration",
    ],
    [["--start-delay", "worker=1h"], '--start-delay "worker=1h": the duration must be whole seconds or minutes'],
    [["--start-delay", "gateway:l4=10s"], "only applies to component worker"],
    [["--no-endpoints", "--start-delay", "worker=90s"], "--start-delay is played by the SIE endpoint server, but --no-endpoints is given"],
    [["--pull-time", "worker=1h"], '--pull-time "worker=1h": the duration must be whole seconds or minutes'],
    [["--pull-time", "gateway=2m"], "pull times are for the worker image: write worker[:<pool>][@<version>]"],
    [["--pull-time", "worker:a100"], '--pull-time "worker:a100" is not a pull time'],
    [["--no-endpoints", "--pull-time", "worker=2m"], "--pull-time is played by the SIE endpoint server, but --no-endpoints is given"],
  ])("cluster start %j is refused before anything starts", async (flags, message) => {
    const dir = path.join(scratch, "karpenter-refused");
    const r = await inProcess(["cluster", "start", "--dir", dir, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(existsSync(dir)).toBe(false);
  });

  it("cluster status on an empty dir says it is stopped", async () => {
    const r = await inProcess(["--json", "cluster", "status", "--dir", path.join(scratch, "nocluster")]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "result", command: "cluster status", result: { state: "stopped" } });
  });
});
