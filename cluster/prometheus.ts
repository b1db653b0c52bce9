// A real Prometheus server of our own (never the system service the Debian package
// may start), scraping the SIE endpoint server on loopback. Its own port, a storage directory,
// readiness awaited through /-/ready, stopped after. It runs as a component (procs.ts): its own
// process group, killed with the process that started it even when that one dies without cleaning up.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Proc } from "./procs.js";

export interface PrometheusServer {
  url: string;
  port: number;
  /** Its configuration and storage. */
  dir: string;
  pid: number | undefined;
  /** Its log (stderr and stdout). */
  log: string;
  /** Resolves, with the reason, once the server has exited (stopped or not). */
  exited: Promise<string>;
  /** Kills the server; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The server binary: `prometheus` on PATH, or $PROMETHEUS_BIN (set it to a missing path to try the skip). */
const BIN = process.env["PROMETHEUS_BIN"] ?? "prometheus";

/** Why Prometheus cannot run here, or undefined when the binary is there. */
export function prometheusUnavailable(): string | undefined {
  const r = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `${BIN} is not installed (run scripts/install-prometheus)`;
  return undefined;
}

/** The server's version (`2.42.0`), or undefined when it cannot be told. */
export function prometheusVersion(): string | undefined {
  const r = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  return /version (\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ""}${r.stderr ?? ""}`)?.[1];
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

interface CommonOptions {
  /** Default 500ms. */
  scrapeInterval?: string;
  readyTimeoutMs?: number;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /**
   * Where its configuration and storage go, kept after stop() (its owner's directory).
   * Default: a temporary directory, removed by stop().
   */
  dir?: string;
  /** Where its log, `prometheus.log`, goes (default `dir`). */
  logDir?: string;
}

/** One job scraping one /metrics URL. */
export interface StaticTargetOptions extends CommonOptions {
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
}

/** Scrape jobs of the caller's own (`scrape_configs` entries; the interval defaults to scrapeInterval). */
export interface ScrapeConfigsOptions extends CommonOptions {
  scrapeConfigs: Record<string, unknown>[];
}

export type StartPrometheusOptions = StaticTargetOptions | ScrapeConfigsOptions;

function staticJob(opts: StaticTargetOptions): Record<string, unknown> {
  const target = new URL(opts.metricsUrl);
  return {
    job_name: "sie",
    metrics_path: target.pathname,
    ...(opts.honorLabels ? { honor_labels: true } : {}),
    static_configs: (opts.targetGroups ?? [opts.labels ?? { namespace: "sie" }]).map((labels) => ({ targets: [target.host], labels })),
  };
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  const owned = opts.dir === undefined;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "sie-prom-"));
  fs.mkdirSync(dir, { recursive: true });
  const interval = opts.scrapeInterval ?? "500ms";
  const jobs = "scrapeConfigs" in opts ? opts.scrapeConfigs : [staticJob(opts)];
  // JSON is valid YAML, so no YAML writer is needed.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: jobs.map((j) => ({ scrape_interval: interval, scrape_timeout: interval, ...j })),
  };
  const configFile = path.join(dir, "prometheus.yml");
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = new Proc(
    "prometheus",
    BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    opts.logDir ?? dir,
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await proc.stop();
    }
    if (owned) fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (proc.exit !== undefined) {
      const log = proc.tail();
      await stop();
      throw new Error(`prometheus ${proc.exit} before it was ready: ${log}`);
    }
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const log = proc.tail();
      await stop();
      throw new Error(`prometheus not ready on ${url} after ${opts.readyTimeoutMs ?? 20_000}ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, pid: proc.pid, log: proc.logPath, exited: proc.exited, stop };
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
