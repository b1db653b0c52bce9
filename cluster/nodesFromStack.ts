// The nodes a GKE or EKS stack file's pools would come up with, for `cluster start --nodes-from`:
// the file is read and validated before anything starts, and every way it can be unusable is a
// usage error (exit 2) naming the file.
import * as fs from "node:fs";
import yaml from "js-yaml";
import { UsageError } from "../core/errors.js";
import { parseConfig } from "../infra/config/configParse.js";
import { cloudNodes, type FakeNodeSpec } from "./nodes.js";

/** cloudNodes() of the stack file's config, so its release can be tried on a cluster of the same shape. */
export function nodesFromStackFile(file: string): FakeNodeSpec[] {
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
  try {
    return cloudNodes(cfg, { prefix: cfg.platform });
  } catch (err) {
    // A pool without workers may name a machine type the table does not list (nothing is fitted on it).
    throw new UsageError(`--nodes-from ${file}: ${(err as Error).message}`, {
      code: "bad-nodes-from",
      hint: "give that pool a machine type listed in infra/hardware/machineShapes.ts, or start the cluster without --nodes-from",
    });
  }
}
