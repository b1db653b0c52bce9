// `sie-fleet upgrade` run as a user runs it (a child process of the real CLI) and SIGKILLed in the
// middle of its first released wave: the state `recover` has to bring back from the journal alone.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../../core/paths.js";

/** Resolves with the `kind:phase:status` of the progress events the run reported before the kill. */
export function upgradeKilledMidWave(fx: { dir: string; stateDir: string; ctx: { env?: NodeJS.ProcessEnv } }, stack: string, to: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, "bin", "sie-fleet.js"), "upgrade", "--stack", stack, "--to", to, "--yes", "--json", "--state-dir", fx.stateDir],
      { cwd: fx.dir, env: { ...fx.ctx.env, SIE_FLEET_STATE_DIR: fx.stateDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const seen: string[] = [];
    let buf = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const e = JSON.parse(line) as { kind: string; status?: string; phase?: string };
          seen.push(`${e.kind}:${e.phase}:${e.status ?? ""}`);
          if (e.kind === "wave" && e.status === "released") child.kill("SIGKILL");
        } catch {
          // not a JSON event line
        }
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      signal === "SIGKILL" ? resolve(seen) : reject(new Error(`upgrade was not killed mid-wave (exit ${code}); saw ${seen.join(" ")}\n${stderr}`)),
    );
  });
}
