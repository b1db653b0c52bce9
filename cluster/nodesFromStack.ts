// The nodes a GKE or EKS stack file's pools would come up with, for `cluster start --nodes-from`,
// and with `--karpenter` the NodePools its node autoscaler would scale the rest with: the file is
// read and validated before anything starts, and every way it can be unusable is a usage error
// (exit 2) naming the file.
import * as fs from "node:fs";
import yaml from "js-yaml";
import { UsageError } from "../core/errors.js";
import { parseConfig } from "../infra/config/configParse.js";
import type { EksFleetConfig, GkeFleetConfig } from "../infra/config/configTypes.js";
import type { KarpenterSpec } from "./karpenter/clusterKarpenter.js";
import { kwokInstanceTypes } from "./karpenter/instanceTypes.js";
import { isKarpenterDuration, kwokNodePools } from "./karpenter/nodePools.js";
import { cloudNodes, cloudZones, type FakeNodeSpec } from "./nodes.js";

export interface NodeAutoscalerOptions {
  /** How long a new node takes to join (Karpenter duration); a GPU instance boots and joins in a minute or more. */
  registrationDelay: string;
  /** How long an empty node stays; default the stack's own (EKS `cluster.karpenter.consolidateAfter`, GKE 10m). */
  consolidateAfter?: string;
}

export interface StackShape {
  nodes: FakeNodeSpec[];
  /** With a node autoscaler: what Karpenter scales (nodes then holds only each pool's minNodes). */
  karpenter?: KarpenterSpec;
}

/** A cluster of the stack file's shape, so its release can be tried on the nodes it would get. */
export function shapeFromStackFile(file: string, autoscaler?: NodeAutoscalerOptions): StackShape {
  const cfg = readCloudStack(file);
  const consolidateAfter = autoscaler?.consolidateAfter ?? (cfg.platform === "eks" ? cfg.cluster.karpenter.consolidateAfter : "10m");
  for (const [flag, value] of [
    ["--node-delay", autoscaler?.registrationDelay],
    ["--consolidate-after", consolidateAfter],
  ] as const) {
    const never = flag === "--consolidate-after";
    if (autoscaler && value !== undefined && !isKarpenterDuration(value, { never })) {
      throw new UsageError(`${flag} ${value}: not a duration Karpenter takes`, {
        code: "bad-karpenter-duration",
        hint: `write it like 30s, 2m or 1m30s${never ? ", or Never" : ""}`,
      });
    }
  }
  try {
    const nodes = cloudNodes(cfg, { prefix: cfg.platform, ...(autoscaler ? { karpenter: true } : {}) });
    if (!autoscaler) return { nodes };
    const { nodeClasses, nodePools } = kwokNodePools(cfg, { consolidateAfter, registrationDelay: autoscaler.registrationDelay });
    if (nodePools.length === 0) {
      throw new UsageError(`--nodes-from ${file} --karpenter: none of the stack's pools is scaled by Karpenter, so it would have nothing to do`, {
        code: "bad-nodes-from",
        hint:
          cfg.platform === "eks"
            ? "give the stack cluster.nodeAutoscaler: karpenter and a pool with maxNodes above minNodes, or leave --karpenter out"
            : "give a pool maxNodes above its minNodes, or leave --karpenter out",
      });
    }
    const instanceTypes = kwokInstanceTypes(cfg.platform, { region: cfg.cluster.region, zones: cloudZones(cfg) });
    return { nodes, karpenter: { instanceTypes, nodeClasses, nodePools } };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A pool without workers may name a machine type the table does not list (nothing is fitted on it).
    throw new UsageError(`--nodes-from ${file}: ${(err as Error).message}`, {
      code: "bad-nodes-from",
      hint: "give that pool a machine type listed in infra/hardware/machineShapes.ts, or start the cluster without --nodes-from",
    });
  }
}

function readCloudStack(file: string): GkeFleetConfig | EksFleetConfig {
  let doc: { config?: Record<string, unknown> } | undefined;
  try {
    doc = yaml.load(fs.readFileSync(file, "utf8")) as typeof doc;
  } catch (err) {
    throw new UsageError(`--nodes-from ${file}: cannot read it as a stack file (${(err as Error).message})`, {
      code: "bad-nodes-from",
      hint: "name a Pulumi.<stack>.yaml of platform gke or eks, e.g. --nodes-from stacks/Pulumi.gke-prod.yaml",
    });
  }
  const cfg = parseConfig(doc?.config ?? {});
  if (cfg.platform !== "gke" && cfg.platform !== "eks") {
    throw new UsageError(`--nodes-from ${file}: its platform is ${cfg.platform}; only gke and eks stacks say what their nodes are`, {
      code: "bad-nodes-from",
      hint: "name a stack file of platform gke or eks, e.g. --nodes-from stacks/Pulumi.eks-prod.yaml",
    });
  }
  return cfg;
}
