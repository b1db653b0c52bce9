// The instance-type file of Karpenter's kwok provider: Go's encoding/json reads it, so the keys must
// be the Go field names, every type needs an offering, and a node made from a type must have the
// allocatable a static node of that machine has.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { KWOK_KUBE_RESERVED, kwokInstanceTypes } from "../../../cluster/karpenter/instanceTypes.js";
import { cloudNodes, cloudZones } from "../../../cluster/nodes.js";
import { REPO_ROOT } from "../../../core/paths.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { EksFleetConfig, GkeFleetConfig } from "../../../infra/config/configTypes.js";
import { GPU_RESOURCE } from "../../../infra/hardware/gpuProfiles.js";
import { MACHINE_SHAPES, allocatable, type Cloud } from "../../../infra/hardware/machineShapes.js";

const CLOUDS: Cloud[] = ["gke", "eks"];
const WHERE = { gke: { region: "us-central1", zones: ["us-central1-a", "us-central1-b"] }, eks: { region: "us-east-1", zones: ["us-east-1a"] } };

function prod(cloud: Cloud): GkeFleetConfig | EksFleetConfig {
  const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", `Pulumi.${cloud}-prod.yaml`), "utf8")) as { config: Record<string, unknown> };
  return parseConfig(doc.config) as GkeFleetConfig | EksFleetConfig;
}

/** "3920m" → 3920, "7" → 7000. */
const millis = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);
/** "12345Mi" → 12345. */
const mebi = (q: string) => {
  expect(q).toMatch(/^\d+Mi$/);
  return Number(q.slice(0, -2));
};

describe.each(CLOUDS)("kwokInstanceTypes(%s)", (cloud) => {
  const types = kwokInstanceTypes(cloud, WHERE[cloud]);

  it("has one type per machine of the table, with exactly the keys the provider's Go structs read", () => {
    expect(types.map((t) => t.name)).toEqual(Object.keys(MACHINE_SHAPES[cloud]));
    for (const t of types) {
      expect(Object.keys(t).sort()).toEqual(["architecture", "name", "offerings", "operatingSystems", "resources"]);
      expect(t.architecture).toBe("amd64");
      expect(t.operatingSystems).toEqual(["linux"]);
      for (const o of t.offerings) {
        expect(Object.keys(o).sort()).toEqual(["Available", "Price", "Requirements"]);
        for (const r of o.Requirements) expect(Object.keys(r).sort()).toEqual(["key", "operator", "values"]);
      }
    }
    // Survives JSON as is (no undefined values that would vanish).
    expect(JSON.parse(JSON.stringify(types))).toEqual(types);
  });

  it("offers every type on-demand and Spot in every zone, each offering naming capacity type, zone and region", () => {
    const { region, zones } = WHERE[cloud];
    for (const t of types) {
      expect(t.offerings.length).toBeGreaterThanOrEqual(1);
      const seen = t.offerings.map((o) => {
        expect(o.Available).toBe(true);
        expect(o.Price).toBeGreaterThan(0);
        const req = Object.fromEntries(o.Requirements.map((r) => [r.key, r]));
        for (const r of o.Requirements) expect(r.operator).toBe("In");
        expect(req["topology.kubernetes.io/region"]?.values).toEqual([region]);
        return `${req["karpenter.sh/capacity-type"]?.values.join()}@${req["topology.kubernetes.io/zone"]?.values.join()}`;
      });
      expect(seen.sort()).toEqual(zones.flatMap((z) => [`on-demand@${z}`, `spot@${z}`]).sort());
      const price = (capacity: string) => t.offerings.find((o) => o.Requirements.some((r) => r.values[0] === capacity))!.Price;
      expect(price("spot"), t.name).toBeLessThan(price("on-demand"));
    }
  });

  it("gives each type its GPUs, and resources less the provider's kube-reserved equal allocatable()", () => {
    for (const t of types) {
      const shape = MACHINE_SHAPES[cloud][t.name]!;
      expect(t.resources[GPU_RESOURCE], t.name).toBe(shape.gpu ? String(shape.gpu.count) : undefined);
      const free = allocatable(cloud, shape);
      expect(millis(t.resources.cpu!) - KWOK_KUBE_RESERVED.cpuMillis, t.name).toBe(Math.floor(free.cpu * 1000));
      expect(mebi(t.resources.memory!) - KWOK_KUBE_RESERVED.memoryMiB, t.name).toBe(Math.floor(free.memoryGiB * 1024));
      expect(t.resources.pods).toBe(String(free.pods));
      expect(t.resources["ephemeral-storage"]).toMatch(/^\d+Gi$/);
    }
  });

  it("makes a Karpenter node of a pool's machine as allocatable as the pool's static nodes", () => {
    const cfg = prod(cloud);
    for (const node of cloudNodes(cfg)) {
      const t = types.find((x) => x.name === node.labels["node.kubernetes.io/instance-type"])!;
      const alloc = node.allocatable!;
      expect(millis(t.resources.cpu!) - KWOK_KUBE_RESERVED.cpuMillis).toBe(millis(alloc.cpu!));
      expect(mebi(t.resources.memory!) - KWOK_KUBE_RESERVED.memoryMiB).toBe(mebi(alloc.memory!));
      expect(t.resources.pods).toBe(alloc.pods);
      expect(t.resources[GPU_RESOURCE]).toBe(alloc[GPU_RESOURCE]);
    }
  });

  it("offers the zones of the stack's pools when given cloudZones()", () => {
    const cfg = prod(cloud);
    const zones = cloudZones(cfg);
    const offered = new Set(
      kwokInstanceTypes(cloud, { region: cfg.cluster.region, zones }).flatMap((t) =>
        t.offerings.flatMap((o) => o.Requirements.filter((r) => r.key === "topology.kubernetes.io/zone").flatMap((r) => r.values)),
      ),
    );
    for (const node of cloudNodes(cfg)) expect(offered).toContain(node.labels["topology.kubernetes.io/zone"]);
    for (const pool of Object.values(cfg.pools)) for (const z of pool.zones ?? []) expect(offered).toContain(z);
  });
});

describe("kwokInstanceTypes input", () => {
  it("refuses no zones (a type without offerings crashes the provider) and an empty region", () => {
    expect(() => kwokInstanceTypes("gke", { region: "us-central1", zones: [] })).toThrow(/at least one zone/);
    expect(() => kwokInstanceTypes("eks", { region: "", zones: ["us-east-1a"] })).toThrow(/region/);
  });

  it("offers a zone given twice once", () => {
    const [t] = kwokInstanceTypes("eks", { region: "us-east-1", zones: ["us-east-1a", "us-east-1a"] });
    expect(t!.offerings).toHaveLength(2);
  });
});
