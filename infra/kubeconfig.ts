// Kubeconfigs for the clusters we create or look up. Credentials come from the cloud CLIs' exec
// plugins, so no long-lived token ends up in state; the file is still exported as a secret.

interface ClusterEndpoint {
  /** Context/cluster/user name inside the file. */
  name: string;
  /** API server host or URL. */
  endpoint: string;
  /** Base64 PEM of the cluster CA. */
  caData: string;
}

interface ExecUser {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  installHint: string;
  provideClusterInfo?: boolean;
}

function kubeconfig(c: ClusterEndpoint, exec: ExecUser): string {
  const server = c.endpoint.startsWith("https://") ? c.endpoint : `https://${c.endpoint}`;
  // JSON is valid YAML, and every kubeconfig reader accepts it.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: c.name, cluster: { server, "certificate-authority-data": c.caData } }],
      contexts: [{ name: c.name, context: { cluster: c.name, user: c.name } }],
      "current-context": c.name,
      users: [{ name: c.name, user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", interactiveMode: "IfAvailable", ...exec } } }],
    },
    null,
    2,
  );
}

export function gkeKubeconfig(c: ClusterEndpoint): string {
  return kubeconfig(c, {
    command: "gke-gcloud-auth-plugin",
    installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
    provideClusterInfo: true,
  });
}

export function eksKubeconfig(c: ClusterEndpoint & { region: string; clusterName: string }): string {
  return kubeconfig(c, {
    command: "aws",
    args: ["eks", "get-token", "--cluster-name", c.clusterName, "--region", c.region, "--output", "json"],
    installHint: "Install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
  });
}
