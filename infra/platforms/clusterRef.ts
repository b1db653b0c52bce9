// What the GKE and EKS modules share. A managed cluster as the rest of a platform module needs it, whether the stack creates it or
// finds an existing one: its name, API endpoint and CA (for the kubeconfig), and the resource when
// the stack owns it (what node pools and the provider depend on).
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface ClusterRef<C> {
  cluster?: C;
  name: pulumi.Output<string>;
  endpoint: pulumi.Output<string>;
  caData: pulumi.Output<string>;
}

/** One node pool (node group) per enabled sie-fleet pool, keyed by pool name. */
export function perEnabledPool<P extends { name: string; enabled: boolean }, T>(pools: Record<string, P>, make: (pool: P) => T): Record<string, T> {
  return Object.fromEntries(
    Object.values(pools)
      .filter((p) => p.enabled)
      .map((p) => [p.name, make(p)]),
  );
}

/** What deployGke and deployEks return beside their node pools. */
export interface ManagedClusterDeployment<C> {
  clusterName: pulumi.Output<string>;
  cluster?: C;
  kubeconfig: pulumi.Output<string>;
  provider: k8s.Provider;
}
