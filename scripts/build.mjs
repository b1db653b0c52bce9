#!/usr/bin/env node
// `npm run build`: compiles core/, automation/, infra/ and cluster/ to dist/ with esbuild, one file per
// source (no bundling), in well under a second. Type checking is tsc's job (`npm run typecheck`);
// this only strips the types. The stamp it writes is how bin/compiled.mjs knows the build is current.
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { DIST, REPO, sourceFiles, sourcesFingerprint, writeStamp } from "../bin/compiled.mjs";

export async function build({ quiet = false } = {}) {
  const t0 = Date.now();
  const files = sourceFiles();
  // Taken before compiling: a file edited while the build runs makes it stale, not wrongly current.
  const fingerprint = sourcesFingerprint(files);
  // Built beside dist/ and swapped in, so a command starting meanwhile never sees half a build.
  const next = `${DIST}.next-${process.pid}`;
  const old = `${DIST}.old-${process.pid}`;
  fs.rmSync(next, { recursive: true, force: true });
  // A failed compile leaves the current dist/ as it was (stale, so unused) and no half-built copy.
  await esbuild
    .build({
      absWorkingDir: REPO,
      entryPoints: files,
      outdir: next,
      outbase: ".",
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "linked",
      logLevel: "warning",
    })
    .catch((err) => {
      fs.rmSync(next, { recursive: true, force: true });
      throw err;
    });
  writeStamp(fingerprint, next);
  if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
  fs.renameSync(next, DIST);
  fs.rmSync(old, { recursive: true, force: true });
  if (!quiet) console.log(`[sie-fleet] compiled ${files.length} files to ${path.relative(process.cwd(), DIST) || "."} in ${Date.now() - t0} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) await build();
