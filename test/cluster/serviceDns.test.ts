// Name resolution of the pod network (cluster/endpoints/serviceDns.ts) over hand-built Services
// and EndpointSlices: what CoreDNS and kube-proxy would make of a host and port inside a pod.
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseServiceName, resolveInCluster, serviceTargets, type ServiceReads } from "../../cluster/endpoints/serviceDns.js";

const svc = (namespace: string, name: string, spec: V1Service["spec"]): V1Service => ({ metadata: { namespace, name }, spec });

type Ep = { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean };
const slice = (service: string, ports: { name?: string; port: number; protocol?: string }[], eps: Ep[], addressType = "IPv4"): V1EndpointSlice => ({
  addressType,
  metadata: { labels: { "kubernetes.io/service-name": service } },
  ports,
  endpoints: eps.map((e) => ({
    addresses: [e.ip],
    conditions: {
      ...(e.ready === undefined ? {} : { ready: e.ready }),
      ...(e.serving === undefined ? {} : { serving: e.serving }),
      ...(e.terminating === undefined ? {} : { terminating: e.terminating }),
    },
  })),
});

const prometheus = svc("monitoring", "prometheus", {
  clusterIP: "10.96.0.20",
  clusterIPs: ["10.96.0.20"],
  ports: [{ name: "http", port: 9090, targetPort: "web" }],
});
const api = svc("sie", "api", {
  clusterIP: "10.96.0.30",
  ports: [
    { name: "grpc", port: 9000 },
    { name: "http", port: 80, targetPort: 8080 },
  ],
});
const operated = svc("monitoring", "prometheus-operated", { clusterIP: "None", ports: [{ name: "web", port: 9090 }] });
const external = svc("default", "search", { type: "ExternalName", externalName: "example.com" });
const quiet = svc("monitoring", "down", { clusterIP: "10.96.0.40", ports: [{ port: 8080 }] });

const slices: Record<string, V1EndpointSlice[]> = {
  "monitoring/prometheus": [slice("prometheus", [{ name: "http", port: 19090 }], [{ ip: "10.244.1.2" }])],
  "sie/api": [
    slice("api", [{ name: "grpc", port: 9001 }], [{ ip: "10.244.2.9" }]),
    slice(
      "api",
      [{ name: "http", port: 8080 }],
      [
        { ip: "10.244.2.2", ready: true },
        { ip: "10.244.2.3", ready: false },
      ],
    ),
  ],
  "monitoring/prometheus-operated": [slice("prometheus-operated", [{ name: "web", port: 9090 }], [{ ip: "10.244.1.5" }])],
  "monitoring/down": [slice("down", [{ port: 8080 }], [{ ip: "10.244.3.1", ready: false }])],
};

function reads(services: V1Service[] = [prometheus, api, operated, external, quiet]): ServiceReads & { listed: number } {
  const r = {
    listed: 0,
    service: async (ns: string, name: string) => services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
    services: async () => {
      r.listed++;
      return services;
    },
    endpointSlices: async (ns: string, name: string) => slices[`${ns}/${name}`] ?? [],
  };
  return r;
}

describe("service names", () => {
  it("parses the three forms a pod's resolver accepts, any case, trailing dot", () => {
    for (const host of [
      "prometheus.monitoring.svc.cluster.local",
      "prometheus.monitoring.svc",
      "Prometheus.Monitoring.SVC.",
      "prometheus.monitoring.svc.cluster.local.",
    ]) {
      expect(parseServiceName(host)).toEqual({ name: "prometheus", namespace: "monitoring", short: false });
    }
    expect(parseServiceName("prometheus.monitoring")).toEqual({ name: "prometheus", namespace: "monitoring", short: true });
    for (const host of ["prometheus", "api.github.com", "a.b.svc.cluster", "p-0.prometheus.monitoring.svc", "under_score.ns", "-x.ns"]) {
      expect(parseServiceName(host)).toBeUndefined();
    }
  });
});

describe("resolution", () => {
  const resolve = resolveInCluster(reads());

  it("each name form reaches a ready endpoint on the target port behind the Service port", async () => {
    for (const host of [
      "prometheus.monitoring.svc.cluster.local",
      "prometheus.monitoring.svc",
      "prometheus.monitoring",
      "prometheus.monitoring.svc.cluster.local.",
    ]) {
      expect(await resolve(host, 9090)).toEqual({ ip: "10.244.1.2", port: 19090 });
    }
  });

  it("a named target port: the slice port of the Service port's name, not the other ports' endpoints", async () => {
    expect(await resolve("api.sie.svc", 80)).toEqual({ ip: "10.244.2.2", port: 8080 });
    expect(await resolve("api.sie.svc", 9000)).toEqual({ ip: "10.244.2.9", port: 9001 });
  });

  it("a ClusterIP maps like the name; any other IP is a pod's and is dialled as it is", async () => {
    const r = reads();
    const byIp = resolveInCluster(r);
    expect(await byIp("10.96.0.20", 9090)).toEqual({ ip: "10.244.1.2", port: 19090 });
    expect(await byIp("10.96.0.20", 9091)).toEqual({ refused: "10.96.0.20:9091: Service monitoring/prometheus has no port 9091 (ports: 9090)" });
    expect(await byIp("10.244.7.7", 8080)).toEqual({ ip: "10.244.7.7", port: 8080 });
    expect(await byIp("[fd00::7]", 8080)).toEqual({ ip: "fd00::7", port: 8080 });
    expect(r.listed).toBe(4);
  });

  it("a headless Service's name is its pods' addresses on the asked port", async () => {
    expect(await resolve("prometheus-operated.monitoring.svc.cluster.local", 9090)).toEqual({ ip: "10.244.1.5", port: 9090 });
  });

  it("refuses with a reason a person can act on", async () => {
    expect(await resolve("prometheus.monitoring", 9091)).toEqual({
      refused: "prometheus.monitoring:9091: Service monitoring/prometheus has no port 9091 (ports: 9090)",
    });
    expect(await resolve("example.com", 443)).toEqual({
      refused: "example.com: not a name in the cluster (no Service com/example; the embedded cluster has no route out)",
    });
    expect(await resolve("api.github.com", 443)).toEqual({ refused: "api.github.com: not a name in the cluster (the embedded cluster has no route out)" });
    expect(await resolve("nothere.monitoring.svc.cluster.local", 80)).toEqual({
      refused: "nothere.monitoring.svc.cluster.local: no Service monitoring/nothere",
    });
    expect(await resolve("search.default.svc", 443)).toEqual({
      refused: "search.default.svc: Service default/search is an ExternalName for example.com (the embedded cluster has no route out)",
    });
    expect(await resolve("down.monitoring.svc", 8080)).toEqual({
      refused:
        "down.monitoring.svc:8080: Service monitoring/down has no ready endpoint for port 8080: no Ready pod matches its selector (see kubectl -n monitoring get endpointslices -l kubernetes.io/service-name=down)",
    });
    expect(((await resolve("prometheus", 9090)) as { refused: string }).refused).toMatch(/^prometheus: not a name in the cluster: .* <service>\.<namespace>/);
    expect(((await resolve("prometheus-0.prometheus-operated.monitoring.svc.cluster.local", 9090)) as { refused: string }).refused).toMatch(
      /pod names under a headless Service are not resolved here/,
    );
  });
});

describe("which endpoints", () => {
  const one = svc("a", "one", { clusterIP: "10.96.0.50", ports: [{ name: "http", port: 80 }] });
  const ports = [{ name: "http", port: 8080 }];

  it("ready ones, those not terminating first; with none ready, serving terminating ones", () => {
    expect(
      serviceTargets(
        one,
        [slice("one", ports, [{ ip: "1.0.0.1", ready: false }, { ip: "1.0.0.2", terminating: true }, { ip: "1.0.0.3" }, { ip: "1.0.0.4", ready: true }])],
        80,
      ),
    ).toEqual([
      { ip: "1.0.0.3", port: 8080 },
      { ip: "1.0.0.4", port: 8080 },
    ]);
    expect(
      serviceTargets(
        one,
        [
          slice("one", ports, [
            { ip: "1.0.0.1", ready: false, serving: true, terminating: true },
            { ip: "1.0.0.2", ready: false },
          ]),
        ],
        80,
      ),
    ).toEqual([{ ip: "1.0.0.1", port: 8080 }]);
  });

  it("skips FQDN slices, slices without the port, and UDP ports", () => {
    const udp = svc("a", "dns", { clusterIP: "10.96.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] });
    expect(serviceTargets(udp, [], 53)).toEqual({ refused: "Service a/dns has no port 53 (ports: none)" });
    expect(
      serviceTargets(one, [slice("one", ports, [{ ip: "x.example" }], "FQDN"), slice("one", [{ name: "other", port: 1 }], [{ ip: "1.0.0.9" }])], 80),
    ).toEqual({
      refused: expect.stringMatching(/^Service a\/one has no ready endpoint for port 80 \(http\)/),
    });
  });

  it("takes turns among equally good endpoints", async () => {
    const two = svc("a", "two", { clusterIP: "10.96.0.60", ports: [{ port: 80, targetPort: 8080 }] });
    const r: ServiceReads = {
      service: async () => two,
      services: async () => [two],
      endpointSlices: async () => [slice("two", [{ port: 8080 }], [{ ip: "1.0.0.1" }, { ip: "1.0.0.2" }])],
    };
    const resolve = resolveInCluster(r);
    const seen = await Promise.all([1, 2, 3, 4].map(() => resolve("two.a", 80)));
    expect(seen.map((t) => (t as { ip: string }).ip)).toEqual(["1.0.0.1", "1.0.0.2", "1.0.0.1", "1.0.0.2"]);
  });
});
