// The compiled JavaScript of this checkout (dist/, written by scripts/build.mjs) and whether it is
// current. The CLI and the Pulumi program load it when it is: compiling TypeScript at every start
// costs seconds per command and per program run. When any source is newer than the build, or
// files were added or removed, they load the TypeScript through tsx instead, so an edited file is
// never run stale.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = path.join(REPO, "dist");
/** What is compiled: the product, not its tests, benchmarks or scripts. */
export const SOURCE_DIRS = ["core", "automation", "infra", "cluster"];
const STAMP_FILE = ".sources.json";
/** Set to 1 to always run the TypeScript (e.g. to compare). */
export const NO_COMPILED_ENV = "SIE_FLEET_NO_COMPILED";

/** Every TypeScript source file the build compiles, relative to the checkout. */
export function sourceFiles() {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(REPO, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !e.name.endsWith(".test.ts")) out.push(child);
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out.sort();
}

/** What the build is judged by: how many sources there are and the newest one's mtime. */
export function sourcesFingerprint(files = sourceFiles()) {
  let newestMtimeMs = 0;
  for (const f of files) newestMtimeMs = Math.max(newestMtimeMs, fs.statSync(path.join(REPO, f)).mtimeMs);
  return { count: files.length, newestMtimeMs };
}

export function writeStamp(fingerprint, dir = DIST) {
  fs.writeFileSync(path.join(dir, STAMP_FILE), `${JSON.stringify(fingerprint)}\n`);
}

export function compiledIsCurrent() {
  if (process.env[NO_COMPILED_ENV] === "1") return false;
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(DIST, STAMP_FILE), "utf8"));
  } catch {
    return false;
  }
  const now = sourcesFingerprint();
  return stamp.count === now.count && now.newestMtimeMs <= stamp.newestMtimeMs;
}

/** Imports a source module (a path like "automation/cli/main.ts"): compiled when current, else through tsx. */
export async function importSource(rel) {
  if (compiledIsCurrent()) return import(pathToFileURL(path.join(DIST, rel.replace(/\.ts$/, ".js"))).href);
  const { register } = await import("tsx/esm/api");
  register();
  return import(pathToFileURL(path.join(REPO, rel)).href);
}
