/**
 * Pods of the cluster whose port is a real process on loopback: the embedded cluster's own
 * Prometheus (cluster/clusterPrometheus.ts) runs beside the control plane while kwok runs its pod.
 * A connection to that pod's IP and forwarded port is a byte pipe to the process, so the API
 * server's service and pod proxy reach it as they would the pod on a real cluster.
 *
 * Which pods forward where is said by whoever runs the process (the cluster daemon), never by a
 * pod itself: a pod annotation anyone allowed to create pods could write would let them point
 * the API server at any loopback port, etcd's among them.
 *
 * The pods are listed at each dial rather than polled: egress.ts asks here only for an IP no
 * SIE pod has, once per tunnel (a pipe is not dialled again per request).
 */
import * as net from "node:net";
import type { V1Pod } from "@kubernetes/client-node";
import type { DialResult } from "./egress.js";
import { containerPorts, isRunning, podIPs } from "./view.js";

export interface PodForward {
  namespace: string;
  /** The pods, e.g. `app.kubernetes.io/name=prometheus`. */
  labelSelector: string;
  /** The container port that is forwarded (the pod must declare it). */
  port: number;
  /** Where the process behind those pods listens. */
  to: { host: string; port: number };
}

/** Lists the pods of a namespace matching a label selector (the API server's answer). */
export type ListPods = (namespace: string, labelSelector: string) => Promise<V1Pod[]>;

/** How long a forward's process may take to accept the connection before the dial is refused. */
const CONNECT_TIMEOUT_MS = 5_000;

export class ForwardedPods {
  private readonly rules: PodForward[] = [];

  constructor(private readonly list: ListPods) {}

  add(rule: PodForward): void {
    this.rules.push(rule);
  }

  /**
   * What a connection to `ip:port` reaches when a forwarded pod has that IP: a pipe to its
   * process, or why not (not running, port not declared or not forwarded, the process does not
   * accept). Undefined when no forwarded pod has the IP.
   */
  async dial(ip: string, port: number): Promise<DialResult | undefined> {
    for (const pod of await this.pods()) {
      if (!podIPs(pod.pod).includes(ip)) continue;
      const name = `pod ${pod.pod.metadata?.namespace}/${pod.pod.metadata?.name}`;
      const ports = containerPorts(pod.pod);
      const rule = pod.rules.find((r) => r.port === port);
      // A process listens on the ports it binds, declared or not (KEDA's operator serves its gRPC
      // metrics service on 9666, which its Deployment does not declare): a rule says it binds one.
      if (!rule && !ports.includes(port))
        return { refused: `connection refused: ${name} does not listen on ${port} (container ports: ${ports.join(", ") || "none"})` };
      if (!isRunning(pod.pod)) return { refused: `connection refused: ${name} is not running` };
      if (!rule) return { refused: `connection refused: nothing answers for ${name} on ${port} here (forwarded: ${pod.rules.map((r) => r.port).join(", ")})` };
      try {
        return { pipe: await connect(rule.to.host, rule.to.port) };
      } catch (err) {
        return { refused: `connection refused: ${name}'s process at ${rule.to.host}:${rule.to.port} does not accept (${(err as Error).message})` };
      }
    }
    return undefined;
  }

  /** Every pod some rule covers, with the rules that cover it. */
  private async pods(): Promise<{ pod: V1Pod; rules: PodForward[] }[]> {
    const out = new Map<string, { pod: V1Pod; rules: PodForward[] }>();
    const lists = await Promise.all(this.rules.map(async (r) => ({ rule: r, pods: await this.list(r.namespace, r.labelSelector) })));
    for (const { rule, pods } of lists) {
      for (const p of pods) {
        const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
        const entry = out.get(key) ?? { pod: p, rules: [] };
        entry.rules.push(rule);
        out.set(key, entry);
      }
    }
    return [...out.values()];
  }
}

/**
 * kwok's kubelet server, where the fake nodes' kubelet is (controlPlane.ts KubeletServer): the
 * API server's kubelet calls (logs, port-forward) dial `nodeIP:port`, and are piped to kwok on
 * 127.0.0.1:`port`. Named by the control plane, never read from a node's status.
 */
export interface KubeletTarget {
  nodeIP: string;
  port: number;
}

/** What a connection to `ip:port` reaches when `ip` is the nodes' address: kwok's server on its kubelet port, nothing else. */
export async function dialKubelet(kubelet: KubeletTarget, ip: string, port: number): Promise<DialResult | undefined> {
  if (ip !== kubelet.nodeIP) return undefined;
  if (port !== kubelet.port) return { refused: `connection refused: node ${ip} serves only its kubelet port ${kubelet.port} here` };
  try {
    return { pipe: await connect("127.0.0.1", kubelet.port) };
  } catch (err) {
    return { refused: `connection refused: kwok's kubelet server at 127.0.0.1:${kubelet.port} does not accept (${(err as Error).message})` };
  }
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const fail = (err: Error): void => {
      s.destroy();
      reject(err);
    };
    s.once("error", fail);
    s.once("timeout", () => fail(new Error(`no answer in ${CONNECT_TIMEOUT_MS} ms`)));
    s.once("connect", () => {
      s.off("error", fail);
      s.setTimeout(0);
      // A reset before egress.ts has spliced the pipe must not go unhandled; "close" follows it.
      s.on("error", () => undefined);
      resolve(s);
    });
  });
}
