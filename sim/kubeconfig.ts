/** Context name in the kubeconfig the simulator writes. */
export const SIM_CONTEXT = "sie-sim";

/**
 * A kubeconfig for the simulator. `insecure-skip-tls-verify: true` is required even though the
 * server is plain http: @kubernetes/client-node 1.4 refuses `http:` servers unless it is set
 * (KubeConfig.createAgent). The user has no credentials; the simulator has no auth.
 */
export function renderKubeconfig(apiUrl: string, namespace = "default"): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `  - name: ${SIM_CONTEXT}`,
    "    cluster:",
    `      server: ${apiUrl}`,
    "      insecure-skip-tls-verify: true",
    "users:",
    `  - name: ${SIM_CONTEXT}`,
    "    user: {}",
    "contexts:",
    `  - name: ${SIM_CONTEXT}`,
    "    context:",
    `      cluster: ${SIM_CONTEXT}`,
    `      user: ${SIM_CONTEXT}`,
    `      namespace: ${namespace}`,
    `current-context: ${SIM_CONTEXT}`,
    "",
  ].join("\n");
}
