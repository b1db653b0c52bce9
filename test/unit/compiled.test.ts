// The compiled copy (dist/) must behave as the sources do wherever a path is derived from where
// the code lives: it finds the same checkout, and the Helm post-renderer stays the checkout's file
// (a release input must not change with how the program was loaded).
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compiledIsCurrent, DIST, REPO, sourceFiles } from "../../bin/compiled.mjs";
import { REPO_ROOT } from "../../core/paths.js";
import { WORKER_REPLICAS_POSTRENDER } from "../../infra/release/helm/postRender.js";

describe("compiled JavaScript", () => {
  it("compiles the product's sources only: no tests", () => {
    const files = sourceFiles();
    expect(files).toContain(path.join("automation", "cli", "main.ts"));
    expect(files).toContain(path.join("infra", "index.ts"));
    expect(files.some((f) => f.endsWith(".test.ts"))).toBe(false);
  });

  it("finds the same checkout and post-renderer from dist/ as from the sources", async () => {
    expect(REPO_ROOT).toBe(REPO);
    expect(WORKER_REPLICAS_POSTRENDER).toBe(path.join(REPO, "infra", "release", "helm", "keepWorkerReplicas.mjs"));
    if (!fs.existsSync(path.join(DIST, "core", "paths.js"))) return;
    const compiled = (await import(pathToFileURL(path.join(DIST, "core", "paths.js")).href)) as { REPO_ROOT: string };
    expect(compiled.REPO_ROOT).toBe(REPO);
    const post = (await import(pathToFileURL(path.join(DIST, "infra", "release", "helm", "postRender.js")).href)) as { WORKER_REPLICAS_POSTRENDER: string };
    expect(post.WORKER_REPLICAS_POSTRENDER).toBe(WORKER_REPLICAS_POSTRENDER);
  });

  it("is not current when SIE_FLEET_NO_COMPILED=1 asks for the TypeScript", () => {
    const before = process.env.SIE_FLEET_NO_COMPILED;
    process.env.SIE_FLEET_NO_COMPILED = "1";
    try {
      expect(compiledIsCurrent()).toBe(false);
    } finally {
      if (before === undefined) delete process.env.SIE_FLEET_NO_COMPILED;
      else process.env.SIE_FLEET_NO_COMPILED = before;
    }
  });
});
