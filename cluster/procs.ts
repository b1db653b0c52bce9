/**
 * Child processes of the control plane: each runs in its own process group with its output in a
 * log file, and is killed on stop() or, failing that, when the process that started it goes away,
 * so a crashed or killed test run or daemon does not leave an apiserver holding ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";

const live = new Set<ChildProcess>();

// util-linux's setpriv sets the kernel's parent-death signal before exec'ing the component, so
// it is SIGKILLed even when its parent dies without running exit handlers (SIGKILL, or a
// SIGTERM from a test runner's timeout, which skips 'exit').
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((f) => fs.existsSync(f));
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL to each group is all that can be done here.
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL");
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export class Proc {
  readonly logPath: string;
  /** Resolves, with the reason, once the process has exited (whether stopped or not). */
  readonly exited: Promise<string>;
  private readonly child: ChildProcess;
  private exitInfo: string | undefined;

  constructor(
    readonly name: string,
    bin: string,
    args: readonly string[],
    logDir: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    installExitHook();
    this.logPath = path.join(logDir, `${name}.log`);
    const fd = fs.openSync(this.logPath, "a");
    // Logs are appended across restarts of a persistent cluster; the header says where each run starts.
    fs.writeSync(fd, `--- ${new Date().toISOString()}\n$ ${bin} ${args.join(" ")}\n`);
    const [cmd, argv] = SETPRIV ? [SETPRIV, ["--pdeathsig", "KILL", "--", bin, ...args]] : [bin, [...args]];
    this.child = spawn(cmd, argv, { stdio: ["ignore", fd, fd], detached: true, env });
    fs.closeSync(fd);
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        live.delete(this.child);
        resolve(this.exitInfo);
      });
      this.child.once("error", (err) => {
        this.exitInfo = `could not start: ${err.message}`;
        live.delete(this.child);
        resolve(this.exitInfo);
      });
    });
  }

  /** The process id (setpriv execs the component, so this is the component's own pid). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why the process is no longer running, or undefined while it runs. */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 25): string {
    try {
      const text = fs.readFileSync(this.logPath, "utf8").trimEnd().split("\n");
      return text.slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM the process group, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitInfo !== undefined) return;
    killGroup(this.child, "SIGTERM");
    const timer = setTimeout(() => killGroup(this.child, "SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface TlsClient {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** For components that serve a self-signed certificate nobody else trusts. */
  insecure?: boolean;
}

/** GET over HTTP or HTTPS; resolves with status and body, rejects only on connection errors. */
export function httpGet(url: string, tls: TlsClient = {}, timeoutMs = 3_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const onResponse = (res: http.IncomingMessage): void => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req =
      u.protocol === "https:"
        ? https.get(
            u,
            {
              ...(tls.ca ? { ca: tls.ca } : {}),
              ...(tls.cert ? { cert: tls.cert } : {}),
              ...(tls.key ? { key: tls.key } : {}),
              rejectUnauthorized: !tls.insecure,
              timeout: timeoutMs,
            },
            onResponse,
          )
        : http.get(u, { timeout: timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/**
 * Polls `check` until it returns a value other than undefined. Fails early, with the log's tail,
 * when one of `watch` has exited, since waiting out the timeout would only hide why.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; watch?: readonly Proc[] },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "";
  for (;;) {
    for (const p of opts.watch ?? []) {
      if (p.exit !== undefined) throw new Error(`${p.name} ${p.exit} while waiting for ${what}; ${p.logPath}:\n${p.tail()}`);
    }
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const logs = (opts.watch ?? []).map((p) => `--- ${p.logPath}\n${p.tail(15)}`).join("\n");
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
