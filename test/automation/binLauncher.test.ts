import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";

const BIN = path.join(REPO_ROOT, "bin", "sie-fleet.js");

describe("bin/sie-fleet.js run as a command", () => {
  it("starts Node with the CLI's memory flags through sh, quietly", () => {
    const r = spawnSync(BIN, ["--version"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("is executable and its launcher line is a comment to JavaScript", () => {
    expect(fs.statSync(BIN).mode & 0o111).not.toBe(0);
    const [shebang, launcher] = fs.readFileSync(BIN, "utf8").split("\n");
    expect(shebang).toBe("#!/bin/sh");
    expect(launcher).toMatch(/^\/\/bin\/sh -c :; exec node --max-semi-space-size=1 --v8-pool-size=1 "\$0" "\$@"$/);
  });
});
