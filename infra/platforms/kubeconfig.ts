// Kubeconfigs for the clusters we create or look up. Credentials come from the cloud CLIs' exec
// plugins, so no long-lived token ends up in state; the file is still exported as a secret.
import type { GkeAuthMode } from "../config/configSchema.js";

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

export interface GkeAuth {
  /** "application-default": the plugin uses Application Default Credentials instead of gcloud's login. */
  auth: GkeAuthMode;
}

export function gkeKubeconfig(c: ClusterEndpoint & GkeAuth): string {
  return kubeconfig(c, {
    command: "gke-gcloud-auth-plugin",
    // The flag gcloud itself writes when container/use_application_default_credentials is set:
    // the token comes from GOOGLE_APPLICATION_CREDENTIALS or the metadata server, no gcloud login.
    ...(c.auth === "application-default" ? { args: ["--use_application_default_credentials"] } : {}),
    installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
    provideClusterInfo: true,
  });
}

export interface EksAuth {
  /** AWS CLI profile for `aws eks get-token` (AWS_PROFILE in the exec environment). */
  awsProfile?: string | undefined;
  /** Role `aws eks get-token --role-arn` assumes to sign the token. */
  assumeRoleArn?: string | undefined;
}

export function eksKubeconfig(c: ClusterEndpoint & EksAuth & { region: string; clusterName: string }): string {
  return kubeconfig(c, {
    command: "aws",
    args: [
      "eks",
      "get-token",
      "--cluster-name",
      c.clusterName,
      "--region",
      c.region,
      ...(c.assumeRoleArn ? ["--role-arn", c.assumeRoleArn] : []),
      "--output",
      "json",
    ],
    ...(c.awsProfile ? { env: [{ name: "AWS_PROFILE", value: c.awsProfile }] } : {}),
    installHint: "Install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html",
  });
}
