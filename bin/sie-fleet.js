#!/bin/sh
//bin/sh -c :; exec node --max-semi-space-size=1 --v8-pool-size=1 "$0" "$@"
// The line above is run by sh when the file is run as a command (`sie-fleet …`, the npm bin) and
// is a comment to JavaScript: it starts Node with a 1 MiB young generation and one
// V8 background thread. The CLI waits on Pulumi and the API server most of its life, so neither
// costs it time, and its peak memory drops by about 25 MiB (bench/RESULTS.md, P5). `node
// bin/sie-fleet.js …` runs the same CLI with Node's defaults.
//
// Runs the CLI: the compiled JavaScript when it is current (npm install and the test and demo
// scripts build it), else the TypeScript through tsx, so there is never a stale build to run.
import { importSource } from "./compiled.mjs";

await importSource("automation/cli/main.ts");
