// `sie-fleet support-bundle` when parts are missing: a stack that was never deployed and a
// simulator that is not running still give a bundle (exit 0) with what exists, and notes that
// say what is missing and why. (The full bundle of a deployed stack is checked, byte by byte
// for secrets, in secrets.test.ts.)
import * as fs from "node:fs";
import * as path from "node:path";
import { list } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BUILD_TIMEOUT_MS, ensureCli, engineFixture, jsonLines, runCli, type EngineFixture } from "./harness.js";

let fx: EngineFixture;

async function entries(file: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file, onReadEntry: (e) => void names.push(e.path) });
  return names;
}

describe("support-bundle with parts missing", () => {
  beforeAll(async () => {
    await ensureCli();
    // A shared, loaded machine can take well over spawnSimulator's default 20 s to start it.
    fx = await engineFixture({ simStartTimeoutMs: 180_000 });
  }, CLI_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await fx?.cleanup();
  });

  it("a never-deployed stack with the simulator stopped: exit 0, what exists, and notes", async () => {
    const out = path.join(fx.dir, "b.tar.gz");
    const r = await runCli(fx, ["support-bundle", "--stack", "local", "--output", out, "--json"], {
      env: { SIE_FLEET_SIM_DIR: path.join(fx.dir, "stopped-sim") },
    });
    expect(r.code, r.stderr).toBe(0);
    const res = jsonLines(r.stdout).find((l) => l["kind"] === "result")?.["result"] as { path: string; files: { name: string }[]; notes: string[] };
    expect(res.path).toBe(out);
    const names = await entries(out);
    const inBundle = (n: string) => `sie-fleet-support-local/${n}`;
    for (const want of ["manifest.json", "stack/Pulumi.local.yaml", "lock.json", "versions.json"]) expect(names).toContain(inBundle(want));
    expect(names).not.toContain(inBundle("status.json"));
    const notes = res.notes.join("\n");
    expect(notes).toMatch(/stack: not included \(stack "local" has never been deployed/);
    expect(notes).toMatch(/status: not included/);
    expect(notes).toMatch(/journals: stack "local" has no runs/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("an --output in a directory that does not exist: exit 2 naming it", async () => {
    const r = await runCli(fx, ["support-bundle", "--stack", "local", "--output", path.join(fx.dir, "nope", "b.tar.gz")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --output .*nope\/b\.tar\.gz: directory .*nope does not exist/m);
    expect(fs.existsSync(path.join(fx.dir, "nope"))).toBe(false);
  });
});
