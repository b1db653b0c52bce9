// The fixture's Helm release as Helm itself records it, read with the real helm client
// (test/chart/helm.ts): its revision history, the manifest of the deployed revision, the values
// of any revision.
import yaml from "js-yaml";
import { helm, type KubeObject } from "../chart/helm.js";
import type { StackFixture } from "./stackFixture.js";

/** The release name of the repository's local stack, which every fixture deploys. */
export const RELEASE = "sie";

/** One entry of `helm history -o json`. */
export interface HelmRevision {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

const target = (fx: StackFixture): string[] => ["--namespace", fx.namespace, "--kubeconfig", fx.cluster.kubeconfigPath];

/** Every revision Helm kept, oldest first. */
export async function helmHistory(fx: StackFixture): Promise<HelmRevision[]> {
  return JSON.parse(await helm(["history", RELEASE, ...target(fx), "--max", "256", "--output", "json"])) as HelmRevision[];
}

/** The objects of the deployed revision (after sie-fleet's post-renderer). */
export async function helmManifest(fx: StackFixture): Promise<KubeObject[]> {
  const out = await helm(["get", "manifest", RELEASE, ...target(fx)]);
  return (yaml.loadAll(out) as (KubeObject | null)[]).filter((d): d is KubeObject => d !== null && typeof d === "object");
}

/** The hooks Helm recorded for the deployed revision, as objects. */
export async function helmHooks(fx: StackFixture): Promise<KubeObject[]> {
  const out = await helm(["get", "hooks", RELEASE, ...target(fx)]);
  return (yaml.loadAll(out) as (KubeObject | null)[]).filter((d): d is KubeObject => d !== null && typeof d === "object");
}

/** The user-supplied values of one revision. */
export async function helmValues(fx: StackFixture, revision: number): Promise<Record<string, any>> {
  return JSON.parse(await helm(["get", "values", RELEASE, ...target(fx), "--revision", String(revision), "--output", "json"])) as Record<string, any>;
}
