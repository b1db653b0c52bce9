// A real Prometheus server of our own (never the system service the Debian package
// may start), scraping the SIE endpoint server's /metrics on loopback. Random free port, temporary storage
// directory, readiness awaited through /-/ready, stopped (and the directory removed) after.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface PrometheusServer {
  url: string;
  port: number;
  dir: string;
  /** Kills the server; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The server binary: `prometheus` on PATH, or $PROMETHEUS_BIN (set it to a missing path to try the skip). */
const BIN = process.env["PROMETHEUS_BIN"] ?? "prometheus";

/** Why Prometheus cannot run here, or undefined when the binary is there. */
export function prometheusUnavailable(): string | undefined {
  const r = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `${BIN} is not installed (run scripts/install-prometheus); metric-gate tests skipped`;
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartPrometheusOptions {
  /** URL of the /metrics endpoint to scrape (the endpoint server's). */
  metricsUrl: string;
  /** Static labels on the target (namespace, as Prometheus Operator attaches). */
  labels?: Record<string, string>;
  /**
   * One target group per entry, all scraping metricsUrl, to stand in for per-pod targets
   * (e.g. `{namespace, pod}` each). Overrides `labels`.
   */
  targetGroups?: Record<string, string>[];
  /** Keep the `namespace` (and other) labels the target exposes over the target's own labels. */
  honorLabels?: boolean;
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  const target = new URL(opts.metricsUrl);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-prom-"));
  const interval = opts.scrapeInterval ?? "500ms";
  // JSON is valid YAML, so no YAML writer is needed.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: "sie",
        scrape_interval: interval,
        scrape_timeout: interval,
        metrics_path: target.pathname,
        ...(opts.honorLabels ? { honor_labels: true } : {}),
        static_configs: (opts.targetGroups ?? [opts.labels ?? { namespace: "sie" }]).map((labels) => ({ targets: [target.host], labels })),
      },
    ],
  };
  const configFile = path.join(dir, "prometheus.yml");
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = "";
  const child: ChildProcess = spawn(
    BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode} before it was ready: ${stderr}`);
    }
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready on ${url} after ${opts.readyTimeoutMs ?? 20_000}ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, stop };
}

/** Waits until `query` returns at least one sample (the first scrapes have landed). */
export async function waitForSeries(url: string, query: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
      const body = (await r.json()) as { data?: { result?: unknown[] } };
      if ((body.data?.result?.length ?? 0) > 0) return;
    } catch {
      // retry
    }
    if (Date.now() > deadline) throw new Error(`no series for ${query} after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
