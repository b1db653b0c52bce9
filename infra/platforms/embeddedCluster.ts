// Where the `local` platform finds its embedded control plane (see cluster/): a directory with the
// admin kubeconfig and the daemon's cluster.json. Pure, so the program, the automation layer and
// the CLI agree on the same place.
import * as path from "node:path";

/** Environment variable naming the cluster directory (the CLI's `cluster --dir`). */
export const CLUSTER_DIR_ENV = "SIE_FLEET_CLUSTER_DIR";

/** $SIE_FLEET_CLUSTER_DIR, else `<stateDir>/cluster` (sie-fleet's state dir, `<project>/.sie-fleet` by default). */
export function embeddedClusterDir(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[CLUSTER_DIR_ENV];
  return path.resolve(fromEnv ? fromEnv : path.join(stateDir, "cluster"));
}

export function embeddedKubeconfigPath(clusterDir: string): string {
  return path.join(clusterDir, "kubeconfig");
}
