#!/usr/bin/env node
// Runs the CLI: the compiled JavaScript when it is current (npm install and the test and demo
// scripts build it), else the TypeScript through tsx, so there is never a stale build to run.
import { importSource } from "./compiled.mjs";

await importSource("automation/cli/main.ts");
