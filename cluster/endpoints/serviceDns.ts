/**
 * Where a connection from a pod to `host:port` lands, as CoreDNS and kube-proxy would decide it:
 * a Service name (`<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc`, `<svc>.<ns>`) or a Service's
 * ClusterIP goes to a ready endpoint of that Service and the target port behind the asked Service
 * port; a headless Service's name to a ready endpoint on the asked port itself (its DNS answers
 * pod IPs); any other IP is a pod's and is dialled as it is. The embedded cluster has no DNS and
 * no kube-proxy, so the pod-network proxy (egress.ts startPodNetworkProxy) asks here instead.
 *
 * Everything else is refused with the reason: a name outside the cluster (there is no route out),
 * an ExternalName Service, an unknown Service, a port the Service does not have, no ready endpoint.
 */
import { isIP } from "node:net";
import * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./poller.js";
import { RoundRobin } from "./view.js";

/** A pod address: what the egress `Dial` is given. */
export interface PodTarget {
  ip: string;
  port: number;
}
export type Resolution = PodTarget | { refused: string };
/** `host` as a URL or CONNECT names it (a name, an IP, an IPv6 literal with or without brackets). */
export type Resolve = (host: string, port: number) => Promise<Resolution>;

/** The objects resolution reads, as the API server answers them. */
export interface ServiceReads {
  /** The Service, or undefined when there is none. */
  service(namespace: string, name: string): Promise<k8s.V1Service | undefined>;
  /** Every Service of the cluster: which one has a given ClusterIP. */
  services(): Promise<k8s.V1Service[]>;
  /** The Service's EndpointSlices (label kubernetes.io/service-name). */
  endpointSlices(namespace: string, service: string): Promise<k8s.V1EndpointSlice[]>;
}

export const CLUSTER_DOMAIN = "cluster.local";
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const NO_ROUTE_OUT = "the embedded cluster has no route out";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface ServiceName {
  name: string;
  namespace: string;
  /** `<svc>.<ns>` only: outside a pod's search path this could as well be a name on the internet. */
  short: boolean;
}

/**
 * The Service a host names: `<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc` or `<svc>.<ns>`
 * (case-insensitive, a trailing dot allowed). Undefined for any other name.
 */
export function parseServiceName(host: string): ServiceName | undefined {
  const labels = host.toLowerCase().replace(/\.$/, "").split(".");
  const rest = labels.slice(2).join(".");
  if (labels.length < 2 || !(rest === "" || rest === "svc" || rest === `svc.${CLUSTER_DOMAIN}`)) return undefined;
  const [name, namespace] = labels as [string, string];
  if (!DNS_LABEL.test(name) || !DNS_LABEL.test(namespace)) return undefined;
  return { name, namespace, short: rest === "" };
}

const isTcp = (protocol: string | undefined): boolean => (protocol ?? "TCP") === "TCP";
const key = (s: k8s.V1Service): string => `${s.metadata?.namespace}/${s.metadata?.name}`;

/**
 * Which addresses kube-proxy would send a connection to the Service's `port` to (all equally
 * good: the caller picks one), or why none. Pure: the Service and its EndpointSlices as listed.
 * Endpoints count when ready (`conditions.ready` unset or true), those not terminating first;
 * with none ready, serving terminating ones, as kube-proxy falls back to.
 */
export function serviceTargets(service: k8s.V1Service, slices: readonly k8s.V1EndpointSlice[], port: number): PodTarget[] | { refused: string } {
  const name = `Service ${key(service)}`;
  const headless = service.spec?.clusterIP === "None";
  let portName: string | undefined;
  if (!headless) {
    const ports = (service.spec?.ports ?? []).filter((p) => isTcp(p.protocol));
    const sp = ports.find((p) => p.port === port);
    if (!sp) return { refused: `${name} has no port ${port} (ports: ${ports.map((p) => p.port).join(", ") || "none"})` };
    portName = sp.name ?? "";
  }
  const candidates: { target: PodTarget; tier: number }[] = [];
  for (const slice of slices) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    // The slice's port of that name is the Service port's target port, resolved per pod by the controller.
    const targetPort = headless ? port : slice.ports?.find((p) => (p.name ?? "") === portName && isTcp(p.protocol))?.port;
    if (targetPort === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      const tier = c.ready !== false ? (c.terminating ? 1 : 0) : c.serving && c.terminating ? 2 : -1;
      if (tier < 0) continue;
      for (const ip of ep.addresses ?? []) candidates.push({ target: { ip, port: targetPort }, tier });
    }
  }
  const best = Math.min(...candidates.map((c) => c.tier));
  const targets = candidates.filter((c) => c.tier === best).map((c) => c.target);
  if (targets.length > 0) return targets;
  return {
    refused: `${name} has no ready endpoint for port ${port}${portName ? ` (${portName})` : ""}: no Ready pod matches its selector (see kubectl -n ${service.metadata?.namespace} get endpointslices -l ${SERVICE_NAME_LABEL}=${service.metadata?.name})`,
  };
}

/**
 * Resolution as a pod on the cluster network gets it, from `reads`. Among equally good endpoints
 * it takes turns, as kube-proxy spreads connections.
 */
export function resolveInCluster(reads: ServiceReads): Resolve {
  const turns = new Map<string, RoundRobin>();
  const toEndpoint = async (service: k8s.V1Service, asked: string, port: number): Promise<Resolution> => {
    const targets = serviceTargets(service, await reads.endpointSlices(service.metadata?.namespace ?? "", service.metadata?.name ?? ""), port);
    if (!Array.isArray(targets)) return { refused: `${asked.includes(":") ? `[${asked}]` : asked}:${port}: ${targets.refused}` };
    const rr = turns.get(key(service)) ?? new RoundRobin();
    turns.set(key(service), rr);
    return rr.pick(targets)!;
  };

  return async (rawHost, port) => {
    const host = rawHost.replace(/^\[(.*)\]$/, "$1");
    if (isIP(host)) {
      const service = (await reads.services()).find((s) => s.spec?.clusterIP === host || (s.spec?.clusterIPs ?? []).includes(host));
      return service ? toEndpoint(service, host, port) : { ip: host, port };
    }
    const named = parseServiceName(host);
    if (!named) return { refused: `${host}: ${notInCluster(host)}` };
    const service = await reads.service(named.namespace, named.name);
    if (!service) {
      if (named.short) return { refused: `${host}: not a name in the cluster (no Service ${named.namespace}/${named.name}; ${NO_ROUTE_OUT})` };
      return { refused: `${host}: no Service ${named.namespace}/${named.name}` };
    }
    if (service.spec?.type === "ExternalName") {
      return { refused: `${host}: Service ${key(service)} is an ExternalName for ${service.spec.externalName} (${NO_ROUTE_OUT})` };
    }
    return toEndpoint(service, host, port);
  };
}

function notInCluster(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, "").split(".");
  if (labels.length === 1) {
    return `not a name in the cluster: a process beside the control plane is in no namespace, so name the Service as <service>.<namespace>[.svc[.${CLUSTER_DOMAIN}]]`;
  }
  if (labels[3] === "svc" && (labels.length === 4 || labels.slice(4).join(".") === CLUSTER_DOMAIN)) {
    return "pod names under a headless Service are not resolved here: name the Service (<service>.<namespace>.svc)";
  }
  return `not a name in the cluster (${NO_ROUTE_OUT})`;
}

/** ServiceReads through the API server, with `kc`'s credentials. */
export function serviceReads(kc: k8s.KubeConfig): ServiceReads {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  return {
    async service(namespace, name) {
      try {
        return await core.readNamespacedService({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    services: async () => (await core.listServiceForAllNamespaces()).items,
    endpointSlices: async (namespace, service) =>
      (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `${SERVICE_NAME_LABEL}=${service}` })).items,
  };
}
