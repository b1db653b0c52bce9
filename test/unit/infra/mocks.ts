// Runs the Pulumi program under setMocks and records every resource registration.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

/** Outputs the real providers would compute (auto-names from the logical `name`), so references resolve under mocks. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "gcp:container/cluster:Cluster":
      return { endpoint: "34.1.2.3", masterAuth: { clusterCaCertificate: "Q0EtR0tF" } };
    case "aws:eks/cluster:Cluster":
      return {
        endpoint: "https://ABC.gr7.us-east-1.eks.amazonaws.com",
        certificateAuthority: { data: "Q0EtRUtT" },
        vpcConfig: { ...inputs.vpcConfig, clusterSecurityGroupId: "sg-0c1a2b3c" },
      };
    case "aws:sqs/queue:Queue":
      return { arn: `arn:aws:sqs:us-east-1:123456789012:${inputs.name}`, url: `https://sqs.us-east-1.amazonaws.com/123456789012/${inputs.name}` };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::123456789012:role/${name}-1a2b3c`, name: `${name}-1a2b3c` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { name: `${name}-1a2b3c` };
    case "kubernetes:helm.sh/v3:Release":
      return { status: { revision: 1, name: inputs.name, namespace: inputs.namespace, status: "deployed" } };
    default:
      return {};
  }
}

function invoke(token: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (token) {
    case "gcp:container/getCluster:getCluster":
      return { ...inputs, endpoint: "35.9.9.9", masterAuths: [{ clusterCaCertificate: "Q0EtRVhJU1Q=" }] };
    case "aws:eks/getCluster:getCluster":
      return {
        ...inputs,
        endpoint: "https://EXIST.eks.amazonaws.com",
        certificateAuthorities: [{ data: "Q0EtRVhJU1Q=" }],
        vpcConfig: { clusterSecurityGroupId: "sg-0e1f2a3b" },
      };
    default:
      return inputs;
  }
}

/** Set fresh mocks, run `program`, wait for every registration, and return what was registered. */
export async function runWithMocks<T>(program: () => T): Promise<{ resources: Registered[]; result: T }> {
  const resources: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call: (args) => invoke(args.token, args.inputs),
    },
    "sie-fleet",
    "test",
    false,
  );
  const result = program();
  await pulumi.runtime.disconnect();
  return { resources, result };
}

export function byType(resources: Registered[], type: string): Registered[] {
  return resources.filter((r) => r.type === type);
}

export function one(resources: Registered[], type: string, name: string): Registered {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; registered: ${resources.map((r) => `${r.type}::${r.name}`).join(", ")}`);
  return found;
}

export function resolve<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((r) => o.apply((v) => r(v)));
}

/** Pulumi's wire marker for a secret value (what mocks receive for secret inputs). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export function isSecretEnvelope(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && SECRET_SIG in v;
}
