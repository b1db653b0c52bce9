import { parseArgs } from "node:util";
import { startSimulator } from "./simulator.js";
import type { ProfileName, SimTimings } from "./timing.js";

// CLI: node --import tsx sim/main.ts --state-dir DIR [--api-port 0] [--gateway-port 0]
//      [--config-port 0] [--profile fast|demo] [--timings '{"podStartMs":100}'] [--namespace NS]
//      [--load RPS:SECONDS]   (start the built-in load generator once listening)
//      [--kubeconfig FILE [--context NAME]]   (mirror mode: serve the SIE endpoints for the release
//                                              in --namespace of that cluster; see sim/mirror.ts)
const { values } = parseArgs({
  options: {
    "state-dir": { type: "string" },
    "api-port": { type: "string", default: "0" },
    "gateway-port": { type: "string", default: "0" },
    "config-port": { type: "string", default: "0" },
    profile: { type: "string", default: "fast" },
    timings: { type: "string" },
    namespace: { type: "string" },
    load: { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
  },
  strict: true,
});

const stateDir = values["state-dir"];
if (!stateDir) {
  process.stderr.write("sie-sim: --state-dir DIR is required\n");
  process.exit(2);
}
const profile = values.profile as ProfileName;
if (profile !== "fast" && profile !== "demo") {
  process.stderr.write(`sie-sim: --profile must be fast or demo, got ${JSON.stringify(values.profile)}\n`);
  process.exit(2);
}
const port = (name: string, v: string | undefined) => {
  const n = Number(v ?? "0");
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`sie-sim: --${name} must be a port number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};

const sim = await startSimulator({
  stateDir,
  profile,
  apiPort: port("api-port", values["api-port"]),
  gatewayPort: port("gateway-port", values["gateway-port"]),
  configPort: port("config-port", values["config-port"]),
  ...(values.timings ? { timings: JSON.parse(values.timings) as Partial<SimTimings> } : {}),
  ...(values.namespace ? { sieNamespace: values.namespace } : {}),
  ...(values.kubeconfig ? { mirror: { kubeconfigPath: values.kubeconfig, namespace: values.namespace ?? "sie", ...(values.context ? { context: values.context } : {}) } } : {}),
}).catch((err: unknown) => {
  process.stderr.write(`sie-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
if (values.load) {
  const m = /^(\d+):(\d+)$/.exec(values.load);
  if (!m) {
    process.stderr.write(`sie-sim: --load must be RPS:SECONDS, got ${JSON.stringify(values.load)}\n`);
    await sim.stop();
    process.exit(2);
  }
  sim.load.start({ rps: Number(m[1]), durationMs: Number(m[2]) * 1000 });
}
process.stdout.write(JSON.stringify({ api: sim.api, gateway: sim.gateway, config: sim.config, metrics: sim.metrics, kubeconfig: sim.kubeconfigPath }) + "\n");

let exiting = false;
const shutdown = () => {
  if (exiting) return;
  exiting = true;
  sim.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`sie-sim: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// Started by spawnSimulator without `detached`: the parent's death closes the IPC channel.
if (process.send) process.on("disconnect", shutdown);
