import * as pulumi from "@pulumi/pulumi";
import type { KubeObject } from "./chartRender.js";
import { kubeObjectsProvider } from "./kubeProvider.js";

/** The type tokens of the local platform, `pulumi-nodejs:dynamic/sie-local:<kind>`; guardrails match on them. */
export const LOCAL_TYPE_PREFIX = "pulumi-nodejs:dynamic/sie-local:";
export type LocalKind = "Namespace" | "NodePool" | "Release" | "ScaledObject";

export interface KubeObjectsArgs {
  simDir: pulumi.Input<string>;
  objects: pulumi.Input<KubeObject[]>;
  preserveOnUpdate?: string[];
}

/** A group of Kubernetes objects applied to the simulator as one Pulumi resource. */
export class KubeObjects extends pulumi.dynamic.Resource {
  declare public readonly objects: pulumi.Output<KubeObject[]>;

  constructor(kind: LocalKind, name: string, args: KubeObjectsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      kubeObjectsProvider,
      name,
      { simDir: args.simDir, objects: args.objects, preserveOnUpdate: args.preserveOnUpdate ?? [] },
      opts,
      "sie-local",
      kind,
    );
  }
}
