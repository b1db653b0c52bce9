// The AWS side of Karpenter as plain data: the controller's IAM policy, its Pod Identity trust
// policy, the interruption queue's policy and the EventBridge patterns that feed it. The
// permissions follow Karpenter's getting-started CloudFormation template (v1.8), scoped to one
// cluster and region. Pure, so tests read the documents directly.

/**
 * The Karpenter minor this controller policy is written for. Other minors can call AWS APIs it does
 * not allow, which fails at run time, so config validation refuses them (karpenterRules.ts).
 */
export const CONTROLLER_POLICY_KARPENTER_MINOR = "1.8";

export interface ControllerPolicyArgs {
  partition: string;
  region: string;
  accountId: string;
  clusterName: string;
  /** The node role Karpenter passes to the instance profiles it creates. */
  nodeRoleArn: string;
  interruptionQueueArn: string;
}

type Statement = {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  /** Absent in trust policies. */
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** What Karpenter's controller may do, limited to resources tagged as this cluster's. */
export function controllerPolicy(a: ControllerPolicyArgs): PolicyDocument {
  const ec2 = (type: string, account = "*") => `arn:${a.partition}:ec2:${a.region}:${account}:${type}/*`;
  const profiles = `arn:${a.partition}:iam::${a.accountId}:instance-profile/*`;
  const owned = { [`aws:ResourceTag/kubernetes.io/cluster/${a.clusterName}`]: "owned" };
  const requestOwned = { [`aws:RequestTag/kubernetes.io/cluster/${a.clusterName}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": a.clusterName };
  const launched = ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"].map((t) => ec2(t));
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowScopedEC2InstanceAccessActions",
        Effect: "Allow",
        Resource: [ec2("image", ""), ec2("snapshot", ""), ec2("security-group"), ec2("subnet"), ec2("capacity-reservation")],
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
      },
      {
        Sid: "AllowScopedEC2LaunchTemplateAccessActions",
        Effect: "Allow",
        Resource: ec2("launch-template"),
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
        Condition: { StringEquals: owned, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowScopedEC2InstanceActionsWithTags",
        Effect: "Allow",
        Resource: [...launched, ec2("capacity-reservation")],
        Action: ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
        Condition: { StringEquals: requestOwned, StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowScopedResourceCreationTagging",
        Effect: "Allow",
        Resource: launched,
        Action: "ec2:CreateTags",
        Condition: {
          StringEquals: { ...requestOwned, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"] },
          StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
        },
      },
      {
        Sid: "AllowScopedResourceTagging",
        Effect: "Allow",
        Resource: ec2("instance"),
        Action: "ec2:CreateTags",
        Condition: {
          StringEquals: owned,
          StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
          StringEqualsIfExists: { "aws:RequestTag/eks:eks-cluster-name": a.clusterName },
          "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] },
        },
      },
      {
        Sid: "AllowScopedDeletion",
        Effect: "Allow",
        Resource: [ec2("instance"), ec2("launch-template")],
        Action: ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
        Condition: { StringEquals: owned, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowRegionalReadActions",
        Effect: "Allow",
        Resource: "*",
        Action: [
          "ec2:DescribeCapacityReservations",
          "ec2:DescribeImages",
          "ec2:DescribeInstances",
          "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplates",
          "ec2:DescribeSecurityGroups",
          "ec2:DescribeSpotPriceHistory",
          "ec2:DescribeSubnets",
        ],
        Condition: { StringEquals: { "aws:RequestedRegion": a.region } },
      },
      // The EKS-optimized AMI ids behind the al2023 alias are public SSM parameters.
      { Sid: "AllowSSMReadActions", Effect: "Allow", Resource: `arn:${a.partition}:ssm:${a.region}::parameter/aws/service/*`, Action: "ssm:GetParameter" },
      { Sid: "AllowPricingReadActions", Effect: "Allow", Resource: "*", Action: "pricing:GetProducts" },
      {
        Sid: "AllowInterruptionQueueActions",
        Effect: "Allow",
        Resource: a.interruptionQueueArn,
        Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
      },
      {
        Sid: "AllowPassingInstanceRole",
        Effect: "Allow",
        Resource: a.nodeRoleArn,
        Action: "iam:PassRole",
        Condition: { StringEquals: { "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"] } },
      },
      {
        Sid: "AllowScopedInstanceProfileCreationActions",
        Effect: "Allow",
        Resource: profiles,
        Action: ["iam:CreateInstanceProfile"],
        Condition: {
          StringEquals: { ...requestOwned, "aws:RequestTag/topology.kubernetes.io/region": a.region },
          StringLike: { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      {
        Sid: "AllowScopedInstanceProfileTagActions",
        Effect: "Allow",
        Resource: profiles,
        Action: ["iam:TagInstanceProfile"],
        Condition: {
          StringEquals: {
            ...owned,
            "aws:ResourceTag/topology.kubernetes.io/region": a.region,
            ...requestOwned,
            "aws:RequestTag/topology.kubernetes.io/region": a.region,
          },
          StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      {
        Sid: "AllowScopedInstanceProfileActions",
        Effect: "Allow",
        Resource: profiles,
        Action: ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
        Condition: {
          StringEquals: { ...owned, "aws:ResourceTag/topology.kubernetes.io/region": a.region },
          StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*" },
        },
      },
      { Sid: "AllowInstanceProfileReadActions", Effect: "Allow", Resource: profiles, Action: "iam:GetInstanceProfile" },
      { Sid: "AllowUnscopedInstanceProfileListAction", Effect: "Allow", Resource: "*", Action: "iam:ListInstanceProfiles" },
      {
        Sid: "AllowAPIServerEndpointDiscovery",
        Effect: "Allow",
        Resource: `arn:${a.partition}:eks:${a.region}:${a.accountId}:cluster/${a.clusterName}`,
        Action: "eks:DescribeCluster",
      },
    ],
  };
}

/** EKS Pod Identity: the agent on each node assumes the role for the associated service account. */
export function podIdentityTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
  };
}

/** EventBridge (and SQS itself) may send to the queue; nothing may use it without TLS. */
export function interruptionQueuePolicy(queueArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowEventBridge",
        Effect: "Allow",
        Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] },
        Action: "sqs:SendMessage",
        Resource: queueArn,
      },
      { Sid: "DenyHTTP", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn, Condition: { Bool: { "aws:SecureTransport": false } } },
    ],
  };
}

/**
 * The events Karpenter acts on ahead of time (drain and replace before the instance goes): Spot
 * interruption warnings (2 minutes' notice), rebalance recommendations, instance state changes and
 * AWS Health scheduled changes. Keyed by the logical name of each rule.
 */
export const INTERRUPTION_EVENTS: Readonly<Record<string, { source: string[]; "detail-type": string[] }>> = {
  "spot-interruption": { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
  rebalance: { source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] },
  "instance-state-change": { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
  "scheduled-change": { source: ["aws.health"], "detail-type": ["AWS Health Event"] },
};

/** SQS names allow 80 characters; the cluster name allows 100. */
export function interruptionQueueName(clusterName: string): string {
  return `${clusterName.slice(0, 70)}-karpenter`;
}
