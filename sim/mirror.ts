/**
 * Mirror mode: the simulator's SIE endpoints (gateway, config, metrics) serve a real cluster's
 * release. No controllers and no Kubernetes API of its own run; the object store is replaced, at
 * each poll, by the pods, ConfigMaps, Deployments and StatefulSets of one namespace as the real
 * API server reports them, so `X-SIE-Server-Version`, /readyz and encode (with the image-tag
 * faults) follow the Ready pods there.
 *
 * Polling, not watching: a full list of four small collections is cheap, has no resume logic, and
 * a missed poll only delays the picture by one interval.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as k8s from "@kubernetes/client-node";
import type { KObject, ObjectStore } from "./store.js";
import { apiVersionOf, T, typeKey, type ResourceType } from "./resources.js";

export interface MirrorOptions {
  /** Kubeconfig file of the cluster (its path only; the content is never logged). */
  kubeconfigPath: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Namespace of the SIE release. */
  namespace: string;
  /** Between two polls (default 500 ms). */
  intervalMs?: number;
}

const MIRRORED: readonly ResourceType[] = [T.pods, T.configmaps, T.deployments, T.statefulsets];

function collectionPath(t: ResourceType, namespace: string): string {
  const prefix = t.group === "" ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${t.resource}`;
}

export class ClusterMirror {
  /** The API server URL, from the kubeconfig. */
  readonly server: string;
  private readonly kc = new k8s.KubeConfig();
  private timer: NodeJS.Timeout | undefined;
  private rv = 0;
  private stopped = false;
  /** Last poll error, reported once per change so a flapping API does not flood the log. */
  private lastError = "";

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: MirrorOptions,
  ) {
    try {
      this.kc.loadFromFile(opts.kubeconfigPath);
    } catch (err) {
      throw new Error(`cannot load the kubeconfig ${opts.kubeconfigPath}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
    if (opts.context) {
      if (!this.kc.getContexts().some((c) => c.name === opts.context)) throw new Error(`the kubeconfig ${opts.kubeconfigPath} has no context "${opts.context}"`);
      this.kc.setCurrentContext(opts.context);
    }
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`the kubeconfig ${opts.kubeconfigPath} names no cluster server for its current context`);
    this.server = server.replace(/\/$/, "");
  }

  /** First sync (must succeed, so a wrong kubeconfig fails at start), then polls until stop(). */
  async start(): Promise<void> {
    await this.sync();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.sync().then(
          () => {
            this.lastError = "";
          },
          (err: unknown) => {
            const msg = err instanceof Error ? err.message : String(err);
            if (msg !== this.lastError) process.stderr.write(`sie-sim mirror: ${msg} (keeping the last picture)\n`);
            this.lastError = msg;
          },
        ).finally(loop);
      }, this.opts.intervalMs ?? 500);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Reads the namespace once and replaces the store's content with it. */
  async sync(): Promise<void> {
    const lists = await Promise.all(MIRRORED.map(async (t) => [t, await this.list(t)] as const));
    const objects: Record<string, KObject[]> = {};
    for (const [t, items] of lists) {
      // List items carry no apiVersion/kind; the store and the SIE views expect them.
      objects[typeKey(t)] = items.map((o) => ({ ...o, apiVersion: apiVersionOf(t), kind: t.kind }));
    }
    this.rv += 1;
    this.store.restore({ format: 1, resourceVersion: this.rv, objects });
  }

  private async list(t: ResourceType): Promise<KObject[]> {
    const url = new URL(this.server + collectionPath(t, this.opts.namespace));
    const opts: https.RequestOptions = {
      method: "GET",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: { accept: "application/json" },
      timeout: 10_000,
    };
    await this.kc.applyToHTTPSOptions(opts);
    const lib = url.protocol === "http:" ? http : https;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = lib.request(opts, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname}: no answer within 10 s`)));
      req.on("error", reject);
      req.end();
    });
    if (status !== 200) {
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the start of the body
      }
      throw new Error(`listing ${t.resource} in ${this.opts.namespace} on ${this.server}: HTTP ${status} ${message}`);
    }
    return ((JSON.parse(text) as { items?: KObject[] }).items ?? []);
  }
}
