#!/usr/bin/env node
// README's first command: installs what is missing, then runs `sie-fleet demo` on the local platform.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ensureDeps, repo } from "./ensure-deps.mjs";

await ensureDeps();
const r = spawnSync(process.execPath, [path.join(repo, "bin", "sie-fleet.js"), "demo", ...process.argv.slice(2)], { cwd: repo, stdio: "inherit" });
process.exit(r.status ?? 1);
