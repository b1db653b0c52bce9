// Where platform kubernetes reads its kubeconfig. Pure (no @pulumi imports): the Pulumi program and
// the automation layer (KubeClient, the embedded cluster) must agree on the same file.
import * as os from "node:os";
import * as path from "node:path";

/**
 * `cluster.kubeconfig` resolved against the project directory (`~/` expanded); without it the
 * first file of $KUBECONFIG, else ~/.kube/config, as kubectl does.
 */
export function resolveKubeconfigPath(configured: string | undefined, projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME ?? os.homedir();
  const expand = (p: string) => (p === "~" ? home : p.startsWith("~/") ? path.join(home, p.slice(2)) : p);
  if (configured) return path.resolve(projectDir, expand(configured));
  const fromEnv = (env.KUBECONFIG ?? "").split(path.delimiter).find((p) => p !== "");
  return path.resolve(projectDir, expand(fromEnv ?? path.join(home, ".kube", "config")));
}
