import * as pulumi from "@pulumi/pulumi";
import type { KubeObject } from "./chartRender.js";
import { kubeObjectsProvider } from "./kubeProvider.js";

/**
 * The type tokens of these resources, `pulumi-nodejs:dynamic/sie-local:<kind>`; guardrails match
 * on them. Platform kubernetes (`deployWith: objects`) uses the same tokens, so the guardrails and
 * the release matcher apply unchanged; "sie-local" stays because renaming it would change every
 * local stack's URNs.
 */
export const LOCAL_TYPE_PREFIX = "pulumi-nodejs:dynamic/sie-local:";
export type LocalKind = "Namespace" | "NodePool" | "Release" | "ScaledObject";

/** Where the objects go: the simulator in `simDir`, or the cluster of a kubeconfig file. */
export type KubeTarget = { simDir: pulumi.Input<string> } | { kubeconfig: string; context?: string };

export type KubeObjectsArgs = KubeTarget & {
  objects: pulumi.Input<KubeObject[]>;
  preserveOnUpdate?: string[];
};

/** A group of Kubernetes objects applied to one API server as one Pulumi resource. */
export class KubeObjects extends pulumi.dynamic.Resource {
  declare public readonly objects: pulumi.Output<KubeObject[]>;

  constructor(kind: LocalKind, name: string, args: KubeObjectsArgs, opts?: pulumi.CustomResourceOptions) {
    const target =
      "simDir" in args
        ? { simDir: args.simDir }
        : { kubeconfig: args.kubeconfig, ...(args.context ? { context: args.context } : {}) };
    super(
      kubeObjectsProvider,
      name,
      { ...target, objects: args.objects, preserveOnUpdate: args.preserveOnUpdate ?? [] },
      opts,
      "sie-local",
      kind,
    );
  }
}
