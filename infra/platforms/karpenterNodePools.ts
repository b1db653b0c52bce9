// Karpenter NodePool and EC2NodeClass manifests for sie-fleet pools, and which pools Karpenter
// provisions at all. Pure (no @pulumi imports): eks.ts registers these as custom resources, and the
// embedded cluster can render the same NodePools for Karpenter's kwok provider.
import { hasWorkers, type ResolvedPool } from "../config/configTypes.js";
import { GPU_RESOURCE, NODE_POOL_LABEL, cloudMachine, isGpuKind, type NodeTaint } from "../hardware/gpuProfiles.js";
import { machineShape } from "../hardware/machineShapes.js";

export const NODEPOOL_API_VERSION = "karpenter.sh/v1";
export const EC2_NODE_CLASS_API_VERSION = "karpenter.k8s.aws/v1";

/**
 * Pools whose nodes Karpenter adds: every enabled pool that runs workers, and every GPU pool. The
 * rest (cpu pools with maxReplicas 0, e.g. `system`) stay managed node groups, because Karpenter's
 * own controller, CoreDNS and the pod identity agent need nodes before Karpenter exists.
 */
export function isKarpenterPool(pool: Pick<ResolvedPool, "enabled" | "maxReplicas" | "gpu">): boolean {
  return pool.enabled && (hasWorkers(pool) || isGpuKind(pool.gpu));
}

/**
 * Nodes Karpenter may add to a pool: those above minNodes. The first minNodes stay a fixed managed
 * node group (warm capacity that exists without Karpenter and is never consolidated away).
 */
export function karpenterNodeCount(pool: Pick<ResolvedPool, "minNodes" | "maxNodes">): number {
  return Math.max(0, pool.maxNodes - pool.minNodes);
}

/** Pools that get a NodePool where Karpenter is installed: Karpenter pools with nodes above minNodes. */
export function hasNodePool(pool: Pick<ResolvedPool, "enabled" | "maxReplicas" | "gpu" | "minNodes" | "maxNodes">): boolean {
  return isKarpenterPool(pool) && karpenterNodeCount(pool) > 0;
}

/** NodePool and EC2NodeClass name of a pool; prefixed so they never clash with other NodePools in the cluster. */
export function nodePoolName(pool: string): string {
  return `sie-fleet-${pool}`;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  values?: string[];
}

export interface NodeClassRef {
  group: string;
  kind: string;
  name: string;
}

export interface NodePoolManifest {
  apiVersion: typeof NODEPOOL_API_VERSION;
  kind: "NodePool";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        nodeClassRef: NodeClassRef;
        taints: NodeTaint[];
        requirements: NodeSelectorRequirement[];
        expireAfter: string;
      };
    };
    limits: Record<string, string>;
    disruption: {
      consolidationPolicy: "WhenEmpty" | "WhenEmptyOrUnderutilized";
      consolidateAfter: string;
      budgets: { nodes: string }[];
    };
  };
}

export interface NodePoolOptions {
  /** How long a node must be empty before Karpenter removes it (Karpenter duration). */
  consolidateAfter: string;
  /** The provider's node class; defaults to the EC2NodeClass of the same name. */
  nodeClassRef?: NodeClassRef;
  /** vCPUs per node for a cpu pool's limit; the instance type's, from the machine table, when omitted. */
  vcpusPerNode?: number;
  /**
   * Labels the cloud itself puts on a node of the pool (e.g. GKE's node-pool label), for a provider
   * that imitates that cloud; added to the pool's labels in the node template.
   */
  cloudLabels?: Record<string, string>;
}

/**
 * What bounds a pool's Karpenter nodes to karpenterNodeCount: a GPU pool's GPUs, a cpu pool's
 * vCPUs, per node both from the machine table (machineShapes.ts; gpusPerNode is resolved from it)
 * of the cloud the pool's hardware was resolved for.
 * Karpenter launches no instance that would push the NodePool past a limit (checked against
 * instance capacity, so one instance type gives an exact node count; a burst of launches can
 * briefly overshoot, as Karpenter's limit accounting is eventually consistent).
 */
export function nodePoolLimits(pool: ResolvedPool, vcpusPerNode?: number): Record<string, string> {
  const nodes = karpenterNodeCount(pool);
  if (isGpuKind(pool.gpu)) return { [GPU_RESOURCE]: String(nodes * pool.hardware.gpusPerNode) };
  const machine = cloudMachine(pool.hardware);
  const vcpus = vcpusPerNode ?? (machine ? machineShape(machine.cloud, machine.type)?.vcpu : undefined);
  if (vcpus === undefined) {
    // Config validation (poolFit.ts) refuses a cpu worker pool on a type the table does not list.
    throw new Error(`pool ${pool.name}: ${machine?.type ?? "its machine"} is not in the machine table, so its Karpenter nodes cannot be bounded by vCPUs`);
  }
  return { cpu: String(nodes * vcpus) };
}

function requirements(pool: ResolvedPool): NodeSelectorRequirement[] {
  const reqs: NodeSelectorRequirement[] = [];
  // The pool's one instance type (GKE: its machine type): the type gpusPerNode, the chart's worker
  // resources and the capacity checks were all computed for.
  const machine = cloudMachine(pool.hardware);
  if (machine) reqs.push({ key: "node.kubernetes.io/instance-type", operator: "In", values: [machine.type] });
  reqs.push(
    { key: "karpenter.sh/capacity-type", operator: "In", values: [pool.spot ? "spot" : "on-demand"] },
    { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
    { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
  );
  return reqs;
}

/**
 * The NodePool of one pool: nodes with the pool's labels and taints (so its workers' nodeSelector
 * and tolerations match exactly as on a node group), its instance type and capacity type, bounded
 * to the nodes above minNodes.
 *
 * Disruption: every Karpenter pool runs SIE workers, which hold a loaded model. Consolidation is
 * WhenEmpty, so Karpenter only removes a node once no worker is left on it (after consolidateAfter,
 * which rides out KEDA scaling a worker away and back), never to repack workers. expireAfter is
 * Never because expiry drains a node without waiting for a replacement; nodes are still replaced
 * on drift (an AMI or NodePool change), one at a time per pool with the replacement started first.
 */
export function buildNodePool(pool: ResolvedPool, opts: NodePoolOptions): NodePoolManifest {
  const name = nodePoolName(pool.name);
  return {
    apiVersion: NODEPOOL_API_VERSION,
    kind: "NodePool",
    metadata: { name, labels: { [NODE_POOL_LABEL]: pool.name } },
    spec: {
      template: {
        metadata: { labels: { ...opts.cloudLabels, ...pool.nodeLabels } },
        spec: {
          nodeClassRef: opts.nodeClassRef ?? { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name },
          taints: pool.nodeTaints.map((t) => ({ ...t })),
          requirements: requirements(pool),
          expireAfter: "Never",
        },
      },
      limits: nodePoolLimits(pool, opts.vcpusPerNode),
      disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: opts.consolidateAfter, budgets: [{ nodes: "1" }] },
    },
  };
}

/** `arn:aws:iam::123456789012:role/path/name` → its partition, account and role name (the last path segment). */
export function parseRoleArn(arn: string): { partition: string; accountId: string; roleName: string } {
  const m = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (!m) throw new Error(`not an IAM role ARN: ${arn}`);
  return { partition: m[1]!, accountId: m[2]!, roleName: m[3]! };
}

export interface Ec2NodeClassManifest<SecurityGroupId = string> {
  apiVersion: typeof EC2_NODE_CLASS_API_VERSION;
  kind: "EC2NodeClass";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    amiSelectorTerms: { alias: string }[];
    role: string;
    subnetSelectorTerms: { id: string }[];
    securityGroupSelectorTerms: { id: SecurityGroupId }[];
    blockDeviceMappings: {
      deviceName: string;
      rootVolume: boolean;
      ebs: { volumeSize: string; volumeType: string; encrypted: boolean; deleteOnTermination: boolean };
    }[];
    metadataOptions: { httpEndpoint: string; httpProtocolIPv6: string; httpPutResponseHopLimit: number; httpTokens: string };
    tags: Record<string, string>;
  };
}

export interface Ec2NodeClassArgs<SecurityGroupId> {
  /** The node IAM role (cluster.nodeRoleArn): Karpenter makes an instance profile for it. */
  nodeRoleArn: string;
  /** cluster.subnetIds, used unless the pool sets its own. */
  subnetIds: string[];
  /** The EKS cluster security group (what managed node groups get). */
  securityGroupId: SecurityGroupId;
  /** EKS-optimized AL2023 release, e.g. v20250821, or latest. */
  amiVersion: string;
}

/**
 * The EC2NodeClass of one pool. Subnets and the security group are selected by id, so no
 * `karpenter.sh/discovery` tags are needed on them. The `al2023` alias makes Karpenter pick the
 * EKS-optimized AL2023 AMI per instance type, the NVIDIA variant for GPU instances (the AMI
 * carries the driver; the device plugin comes from eks.ts). A pool's subnetIds place its nodes the
 * way they place a node group, which is also how zones are restricted on EKS.
 */
export function buildEc2NodeClass<SecurityGroupId>(pool: ResolvedPool, a: Ec2NodeClassArgs<SecurityGroupId>): Ec2NodeClassManifest<SecurityGroupId> {
  return {
    apiVersion: EC2_NODE_CLASS_API_VERSION,
    kind: "EC2NodeClass",
    metadata: { name: nodePoolName(pool.name), labels: { [NODE_POOL_LABEL]: pool.name } },
    spec: {
      amiSelectorTerms: [{ alias: `al2023@${a.amiVersion}` }],
      role: parseRoleArn(a.nodeRoleArn).roleName,
      subnetSelectorTerms: (pool.subnetIds ?? a.subnetIds).map((id) => ({ id })),
      securityGroupSelectorTerms: [{ id: a.securityGroupId }],
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          rootVolume: true,
          ebs: { volumeSize: `${pool.diskSizeGb}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
        },
      ],
      // IMDSv2 only, one hop: pods (other than host-network ones) cannot reach the node's credentials.
      metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
      tags: { [NODE_POOL_LABEL]: pool.name },
    },
  };
}
