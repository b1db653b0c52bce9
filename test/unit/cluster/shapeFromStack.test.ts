// `cluster start --nodes-from <stack> [--karpenter]`: the nodes and the NodePools a stack file
// shapes the embedded cluster with, and the stack files that cannot shape one.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { shapeFromStackFile } from "../../../cluster/nodesFromStack.js";
import { REPO_ROOT } from "../../../core/paths.js";
import { UsageError } from "../../../core/errors.js";

const stack = (name: string) => path.join(REPO_ROOT, "stacks", name);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sie-shape-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe("shapeFromStackFile", () => {
  it("without an autoscaler: every pool's nodes up to minNodes (at least one), no Karpenter", () => {
    const shape = shapeFromStackFile(stack("Pulumi.eks-prod.yaml"));
    expect(shape.karpenter).toBeUndefined();
    expect(shape.nodes.length).toBeGreaterThan(0);
  });

  it("with Karpenter: only the node groups' minNodes, and a NodePool, node class and instance types for the rest", () => {
    const shape = shapeFromStackFile(stack("Pulumi.eks-prod.yaml"), { registrationDelay: "30s" });
    // eks-prod: system 2 and l4's one warm node.
    expect(shape.nodes.map((n) => n.labels["sie-fleet/pool"]).sort()).toEqual(["l4", "system", "system"]);
    expect(shape.karpenter?.nodePools.map((p) => p.metadata?.name).sort()).toEqual(["sie-fleet-a100-40gb", "sie-fleet-a100-80gb", "sie-fleet-l4"]);
    expect(shape.karpenter?.nodeClasses.every((c) => (c as { spec?: { nodeRegistrationDelay?: string } }).spec?.nodeRegistrationDelay === "30s")).toBe(true);
    // The stack's own consolidateAfter unless the flag says otherwise.
    const disruption = (p: unknown) => (p as { spec: { disruption: { consolidateAfter: string } } }).spec.disruption.consolidateAfter;
    expect(shape.karpenter?.nodePools.map(disruption)).toEqual(["10m", "10m", "10m"]);
    const fast = shapeFromStackFile(stack("Pulumi.eks-prod.yaml"), { registrationDelay: "5s", consolidateAfter: "15s" });
    expect(fast.karpenter?.nodePools.map(disruption)).toEqual(["15s", "15s", "15s"]);
    expect(shape.karpenter?.instanceTypes.length).toBeGreaterThan(0);
  });

  it("refuses a stack whose pools Karpenter would not scale, naming the setting", () => {
    const doc = yaml.load(fs.readFileSync(stack("Pulumi.eks-prod.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
    doc.config["sie-fleet:cluster"] = { ...doc.config["sie-fleet:cluster"], nodeAutoscaler: "external", karpenter: { install: false } };
    const file = path.join(scratch, "Pulumi.eks-external.yaml");
    fs.writeFileSync(file, yaml.dump(doc));
    expect(() => shapeFromStackFile(file, { registrationDelay: "30s" })).toThrow(/none of the stack's pools is scaled by Karpenter/);
    // Without --karpenter the same file shapes a cluster of fixed nodes.
    expect(shapeFromStackFile(file).nodes.length).toBeGreaterThan(0);
  });

  it("refuses a duration Karpenter would not take as a usage error", () => {
    const err = (() => {
      try {
        shapeFromStackFile(stack("Pulumi.gke-prod.yaml"), { registrationDelay: "Never" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain("--node-delay Never");
  });
});
