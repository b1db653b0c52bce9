/**
 * The process entry point: wires the real process to runCli and is the only place that exits.
 * First Ctrl-C (or SIGTERM) aborts the run at its next safe point, which journals where it
 * stopped; a second one exits at once with 130.
 */
import { InterruptedError, EXIT_CODES } from "../../core/errors.js";
import { runCli } from "./run.js";

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupts += 1;
  if (interrupts > 1) process.exit(EXIT_CODES.interrupted);
  process.stderr.write(`\n${signal}: stopping at the next safe point; press Ctrl-C again to exit now (then run \`sie-fleet recover\`)\n`);
  controller.abort(new InterruptedError(`interrupted by ${signal}`, { hint: "sie-fleet recover --stack <stack>" }));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const code = await runCli(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: process.stdin.isTTY === true,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.exit(code);
