// The instance-type file of Karpenter's kwok provider (INSTANCE_TYPES_FILE_PATH): one entry per
// machine in sie-fleet's machine table, so a NodePool that pins a pool's machine finds it, and a node
// Karpenter makes has the allocatable a static node of that machine has (cloudNodes, config validation).
//
// The provider decodes the file with Go's encoding/json into structs whose offering fields carry no
// JSON tags, so an offering's keys are the Go field names (Price, Available, Requirements). A key it
// does not know is dropped without a word, a file it cannot read leaves it running with no types at
// all, and a type without offerings crashes it: hence the fixed key names and the checks below.
import { GPU_PROFILES, GPU_RESOURCE } from "../../infra/hardware/gpuProfiles.js";
import { MACHINE_SHAPES, type Cloud, type MachineShape } from "../../infra/hardware/machineShapes.js";
import { allocatableDiskGi, kubeletAllocatable } from "../nodes.js";

/**
 * What the kwok provider holds back from every instance type's resources (kube-reserved, fixed in
 * its code): a node's allocatable is its resources less this.
 */
export const KWOK_KUBE_RESERVED = { cpuMillis: 100, memoryMiB: 10 } as const;

const CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type";
const ZONE_LABEL = "topology.kubernetes.io/zone";
const REGION_LABEL = "topology.kubernetes.io/region";

export interface KwokRequirement {
  key: string;
  operator: "In";
  values: string[];
}

/** Go field names as keys: the provider's offering struct has no JSON tags. */
export interface KwokOffering {
  Price: number;
  Available: true;
  Requirements: KwokRequirement[];
}

export interface KwokInstanceType {
  name: string;
  architecture: "amd64";
  operatingSystems: ["linux"];
  /** Quantities as the node's would be before the provider's kube-reserved (KWOK_KUBE_RESERVED). */
  resources: Record<string, string>;
  offerings: KwokOffering[];
}

/**
 * Made-up hourly prices. Karpenter launches the cheapest offering that fits, and every sie-fleet
 * NodePool pins one type and one capacity type, so only their order matters: bigger machines and
 * more GPUs cost more, Spot less than on-demand.
 */
const PRICE = { perVcpu: 0.04, perGiB: 0.005, perGpu: 1, spotFactor: 0.4 } as const;

function onDemandPrice(shape: MachineShape): number {
  return shape.vcpu * PRICE.perVcpu + shape.memoryGiB * PRICE.perGiB + (shape.gpu?.count ?? 0) * PRICE.perGpu;
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

/**
 * The node's resources: allocatable() in the kubelet's units plus KWOK_KUBE_RESERVED, pods, GPUs.
 * Ephemeral storage: a boot disk is a pool's setting, not the machine's, so this is what the default
 * disk of the machine's GPU kind leaves to pods (as a static node of a pool with that disk shows);
 * workers request none, so it is shown, never fitted against.
 */
function resources(cloud: Cloud, shape: MachineShape): Record<string, string> {
  const free = kubeletAllocatable(cloud, shape);
  const disk = GPU_PROFILES[shape.gpu?.kind ?? "cpu"].defaultDiskSizeGb;
  const out: Record<string, string> = {
    cpu: `${free.cpuMillis + KWOK_KUBE_RESERVED.cpuMillis}m`,
    memory: `${free.memoryMiB + KWOK_KUBE_RESERVED.memoryMiB}Mi`,
    pods: String(free.pods),
    "ephemeral-storage": `${allocatableDiskGi(disk)}Gi`,
  };
  if (shape.gpu) out[GPU_RESOURCE] = String(shape.gpu.count);
  return out;
}

/**
 * Every machine of `cloud`'s table as a kwok instance type, offered on-demand and Spot in each of
 * `zones` of `region` (pass the stack's cloudZones() so every zone its pools use is offered). Each
 * offering's requirements become node labels: capacity type, zone and region.
 */
export function kwokInstanceTypes(cloud: Cloud, opts: { region: string; zones: string[] }): KwokInstanceType[] {
  const zones = [...new Set(opts.zones)];
  // An instance type without offerings crashes the provider.
  if (zones.length === 0) throw new Error("kwok instance types need at least one zone to offer them in");
  if (opts.region === "") throw new Error("kwok instance types need a region");
  return Object.entries(MACHINE_SHAPES[cloud]).map(([name, shape]) => {
    const onDemand = onDemandPrice(shape);
    const offerings = zones.flatMap((zone) =>
      (["on-demand", "spot"] as const).map(
        (capacity): KwokOffering => ({
          Price: round4(capacity === "spot" ? onDemand * PRICE.spotFactor : onDemand),
          Available: true,
          Requirements: [
            { key: CAPACITY_TYPE_LABEL, operator: "In", values: [capacity] },
            { key: ZONE_LABEL, operator: "In", values: [zone] },
            { key: REGION_LABEL, operator: "In", values: [opts.region] },
          ],
        }),
      ),
    );
    return { name, architecture: "amd64", operatingSystems: ["linux"], resources: resources(cloud, shape), offerings };
  });
}
