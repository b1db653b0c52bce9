// The shape of each `sie-fleet:<section>` config key, as zod schemas. Per-field rules live here;
// rules that span fields or sections (min <= max, canary pool exists, hardware exists) live in
// configRules.ts. No @pulumi imports: the CLI validates stack files with this too.
import { z } from "zod";
import { OCI_TAG_PATTERN } from "./configKeys.js";
import { STACK_NAME_PATTERN, STACK_NAME_RULE } from "../../core/stackName.js";
import { GPU_KINDS } from "../hardware/gpuProfiles.js";

export const PLATFORMS = ["gke", "eks", "local", "kubernetes"] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * How a GKE kubeconfig's gke-gcloud-auth-plugin gets Google credentials. `gcloud-plugin`: the
 * gcloud login of whoever runs it (workstations). `application-default`: Application Default
 * Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity), for CI without a gcloud login.
 */
export const GKE_AUTH_MODES = ["gcloud-plugin", "application-default"] as const;
export type GkeAuthMode = (typeof GKE_AUTH_MODES)[number];

const DEFAULT_CHART = "oci://ghcr.io/superlinked/charts/sie-cluster";

const TAG_MESSAGE = "must be a valid OCI image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, e.g. v0.3.1): no spaces, ':', '@' or ';'";
const imageTag = z.string().regex(OCI_TAG_PATTERN, TAG_MESSAGE);

/** RFC 1123 label: namespaces, release names, pool names (they end up in object names). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(DNS_LABEL, "must be lowercase letters, digits and '-', starting and ending with a letter or digit");

const posInt = z.number().int().min(1);
const nonNegInt = z.number().int().min(0);
const nonEmpty = z.string().min(1, "must not be empty");

// ---- cluster (one schema per platform) ----

const gkeClusterSchema = z.strictObject({
  /** false = use an existing cluster named `name` in `region`. */
  create: z.boolean().default(true),
  name: z
    .string()
    .regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, "must be a GKE cluster name: lowercase letters, digits and '-', at most 40 characters, starting with a letter"),
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id (6-30 lowercase letters, digits, '-')"),
  /** Cluster location: a region (regional cluster) or, for an existing zonal cluster, a zone. */
  region: nonEmpty,
  /** Node locations of the cluster (and default node locations of pools). */
  zones: z.array(nonEmpty).min(1).optional(),
  releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE", "EXTENDED", "UNSPECIFIED"]).default("REGULAR"),
  deletionProtection: z.boolean().default(true),
  network: nonEmpty.optional(),
  subnetwork: nonEmpty.optional(),
  /** minMasterVersion for a new cluster. */
  version: nonEmpty.optional(),
  /** Node service account email (defaults to the Compute Engine default SA). */
  nodeServiceAccount: nonEmpty.optional(),
  /** GKE-managed driver version for GPU nodes. */
  gpuDriverVersion: z.enum(["DEFAULT", "LATEST"]).default("DEFAULT"),
  /** Credentials of the kubeconfig's gke-gcloud-auth-plugin (infra/platforms/kubeconfig.ts). */
  auth: z.enum(GKE_AUTH_MODES).default("gcloud-plugin"),
});

const ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

/** cluster.karpenter.version's default: a release of the minor the controller policy is written for (platforms/karpenterIam.ts). */
export const DEFAULT_KARPENTER_VERSION = "1.8.8";

/** Karpenter's duration syntax (its CRDs' pattern, e.g. KWOKNodeClass nodeRegistrationDelay): 30s, 10m, 1h30m. */
const DURATION = "([0-9]+(s|m|h))+";
const KARPENTER_DURATION = new RegExp(`^${DURATION}$`);
/** A NodePool's consolidateAfter and expireAfter also take Never. */
const KARPENTER_DURATION_OR_NEVER = new RegExp(`^(${DURATION}|Never)$`);

/** Whether `s` matches Karpenter's duration pattern; with `never`, the NodePool fields' "Never" too. */
export function isKarpenterDuration(s: string, opts: { never?: boolean } = {}): boolean {
  return (opts.never ? KARPENTER_DURATION_OR_NEVER : KARPENTER_DURATION).test(s);
}

/**
 * Who adds nodes to an EKS stack's pools (infra/platforms/eks.ts, docs/eks.md). `karpenter`: node groups keep
 * a fixed size (minNodes) and the Karpenter this stack installs adds the nodes of pools with workers
 * and of GPU pools. `external`: every pool is a node group of minNodes..maxNodes whose size is left
 * to an autoscaler that is not this stack's (Cluster Autoscaler, a Karpenter of your own).
 */
const NODE_AUTOSCALERS = ["karpenter", "external"] as const;

const eksClusterObject = z.strictObject({
  create: z.boolean().default(true),
  name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name (letters, digits, '-', '_', at most 100 characters)"),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as us-east-1"),
  version: z
    .string()
    .regex(/^\d+\.\d+$/, "must be a Kubernetes minor version such as 1.31")
    .optional(),
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, "must be a subnet id (subnet-…)")).min(1, "needs at least one subnet id"),
  nodeRoleArn: z.string().regex(ARN, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
  /** Cluster IAM role; required when create is true. */
  roleArn: z.string().regex(ARN, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)").optional(),
  deletionProtection: z.boolean().default(false),
  devicePlugin: z.strictObject({ install: z.boolean().default(true), version: nonEmpty.default("0.17.4") }).prefault({}),
  /** AWS CLI profile the kubeconfig's `aws eks get-token` runs with (AWS_PROFILE); the AWS provider's own is `aws:profile`. */
  awsProfile: z
    .string()
    .regex(/^[A-Za-z0-9_.+@-]{1,64}$/, "must be an AWS CLI profile name (letters, digits, '_', '.', '+', '@', '-')")
    .optional(),
  /** IAM role the kubeconfig's `aws eks get-token --role-arn` assumes to sign the token. */
  assumeRoleArn: z.string().regex(ARN, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)").optional(),
  /** Who adds nodes (see NODE_AUTOSCALERS). */
  nodeAutoscaler: z.enum(NODE_AUTOSCALERS).default("karpenter"),
  /** The Karpenter this stack installs with nodeAutoscaler karpenter; not read with external. */
  karpenter: z
    .strictObject({
      /**
       * Default: true with nodeAutoscaler karpenter, false with external (where true is an error).
       * false with karpenter: every pool is a node group of exactly minNodes and nothing adds nodes.
       */
      install: z.boolean().optional(),
      /** Chart and controller version (oci://public.ecr.aws/karpenter/karpenter): 1.8.x only, the release the controller policy is written for; 1.8 supports Kubernetes 1.29-1.34. */
      version: z
        .string()
        .regex(/^\d+\.\d+\.\d+$/, `must be a Karpenter release such as ${DEFAULT_KARPENTER_VERSION}`)
        .default(DEFAULT_KARPENTER_VERSION),
      /** kube-system is Karpenter's default (its API priority and fairness settings expect it). */
      namespace: dnsLabel(63).default("kube-system"),
      /** How long a Karpenter node must have no worker before it is removed. */
      consolidateAfter: z.string().regex(KARPENTER_DURATION_OR_NEVER, "must be a duration such as 30s, 10m or 1h30m, or Never").default("10m"),
      /** EKS-optimized AL2023 release for Karpenter's nodes (e.g. v20250821); latest follows new releases, replacing nodes as they come out. */
      amiVersion: z
        .string()
        .regex(/^(latest|v\d{8})$/, "must be latest or an AL2023 EKS AMI release such as v20250821")
        .default("latest"),
    })
    .prefault({}),
});

/** karpenter.install resolved from nodeAutoscaler, so everything after parsing reads one boolean. */
const eksClusterSchema = eksClusterObject
  .superRefine((c, ctx) => {
    if (c.nodeAutoscaler === "external" && c.karpenter.install === true) {
      ctx.addIssue({
        code: "custom",
        path: ["karpenter", "install"],
        message: "must not be true with cluster.nodeAutoscaler external, which installs no Karpenter: remove it, or set nodeAutoscaler: karpenter",
      });
    }
  })
  .transform((c) => ({ ...c, karpenter: { ...c.karpenter, install: c.karpenter.install ?? c.nodeAutoscaler === "karpenter" } }));

const kubernetesClusterSchema = z.strictObject({
  /** Path to a kubeconfig file (relative to the project directory); defaults to $KUBECONFIG / ~/.kube/config. */
  kubeconfig: nonEmpty.optional(),
  context: nonEmpty.optional(),
});

/** The embedded control plane (`sie-fleet cluster start`): nothing to configure. */
const localClusterSchema = z.strictObject({});

export const clusterSchemas = {
  gke: gkeClusterSchema,
  eks: eksClusterSchema,
  kubernetes: kubernetesClusterSchema,
  local: localClusterSchema,
} as const;

export type GkeClusterConfig = z.output<typeof gkeClusterSchema>;
export type EksClusterConfig = z.output<typeof eksClusterSchema>;
export type KubernetesClusterConfig = z.output<typeof kubernetesClusterSchema>;
export type LocalClusterConfig = z.output<typeof localClusterSchema>;

// ---- pools ----

export const poolSchema = z.strictObject({
  gpu: z.enum(GPU_KINDS),
  enabled: z.boolean().default(true),
  /** GPUs per node; picks the default machine for that count, or must agree with machineType/instanceType. */
  gpusPerNode: nonNegInt.optional(),
  /** GPUs per worker pod (chart `gpu.count`); defaults to 1 (0 for cpu pools). */
  gpusPerWorker: posInt.optional(),
  /** Node counts are totals across zones. */
  minNodes: nonNegInt.default(0),
  maxNodes: posInt.default(1),
  spot: z.boolean().default(false),
  /** GKE node locations (zones of the cluster region). */
  zones: z.array(nonEmpty).min(1).optional(),
  /** EKS subnets for this node group (defaults to cluster.subnetIds). */
  subnetIds: z
    .array(z.string().regex(/^subnet-[0-9a-f]+$/, "must be a subnet id (subnet-…)"))
    .min(1)
    .optional(),
  machineType: nonEmpty.optional(),
  instanceType: nonEmpty.optional(),
  diskSizeGb: z.number().int().min(20).max(65536).optional(),
  /** Worker replicas (KEDA min/max). */
  minReplicas: nonNegInt.default(0),
  /** Defaults to what the nodes can hold: maxNodes × workers per node. */
  maxReplicas: nonNegInt.optional(),
  machineProfile: dnsLabel(40).optional(),
  bundle: dnsLabel(40).default("default"),
  /** Only for platform kubernetes (existing nodes): labels that select this pool's nodes. */
  nodeSelector: z.record(z.string(), z.string()).optional(),
  /** Worker CPU/memory (Kubernetes quantities); defaults to the chart's defaults for the pool's gpu kind. */
  resources: z.strictObject({ requests: z.record(z.string(), nonEmpty).default({}), limits: z.record(z.string(), nonEmpty).default({}) }).optional(),
});
export type PoolInput = z.output<typeof poolSchema>;

// ---- release ----

const releaseSchema = z.strictObject({
  /** `oci://…/sie-cluster`, a chart name in `repo`, or a local chart directory (./…, ../…, /…). */
  chart: nonEmpty.default(DEFAULT_CHART),
  /** Helm repository URL when `chart` is a bare chart name. */
  repo: z.url({ protocol: /^(https?|oci)$/ }).optional(),
  /** Chart version; required for OCI and repo charts. */
  version: nonEmpty.optional(),
  releaseName: dnsLabel(53).default("sie"),
  namespace: dnsLabel(63).default("sie"),
  createNamespace: z.boolean().default(true),
  fullnameOverride: dnsLabel(40).optional(),
  /** Worker image tag; also the gateway/config tag unless those are set. */
  imageTag: imageTag,
  gatewayTag: imageTag.optional(),
  configTag: imageTag.optional(),
  /** Extra chart values, deep-merged under the values sie-fleet computes (which may not be overridden). */
  values: z.record(z.string(), z.unknown()).default({}),
  timeoutSeconds: posInt.default(900),
});
export type ReleaseConfig = z.output<typeof releaseSchema>;

// ---- autoscaling / keda (defaults are the sie-cluster chart's) ----

const autoscalingSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /**
   * Where KEDA queries Prometheus, for setups that predate sie-fleet:monitoring. Prefer
   * monitoring.prometheus, which names it for KEDA and the metric gates alike; both set and
   * different is a config error (infra/release/prometheusTarget.ts).
   */
  prometheusAddress: z.url({ protocol: /^https?$/ }).optional(),
  pollingInterval: posInt.default(15),
  cooldownPeriod: nonNegInt.default(900),
  scaleDownStabilization: z.number().int().min(0).max(3600).default(300),
  queueDepthThreshold: posInt.default(10),
  queueDepthActivation: nonNegInt.default(2),
  /**
   * The floor KEDA holds each pool at while Prometheus cannot be read: the fallback keeps
   * max(current workers, this) (fallback.behavior currentReplicasIfHigher), so an outage never
   * scales a pool down. Default: each pool's minReplicas, so an outage also starts no GPU worker
   * demand did not ask for. An explicit value applies to every pool: above a pool's minReplicas it
   * buys capacity during outages; above its maxReplicas it is an error. Needs a KEDA this stack
   * installs at 2.17 or newer; otherwise the fallback is left out (infra/release/fallbackReplicas.ts).
   */
  fallbackReplicas: nonNegInt.optional(),
});
export type AutoscalingConfig = z.output<typeof autoscalingSchema>;

const kedaSchema = z.strictObject({
  /** Install KEDA (kedacore/keda chart) from this stack. */
  install: z.boolean().default(false),
  /** kedacore/keda chart version; default: the newest KEDA that supports the cluster's Kubernetes version (infra/release/kedaVersions.ts). */
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, "must be a kedacore/keda chart version such as 2.18.3")
    .optional(),
  namespace: dnsLabel(63).default("keda"),
});
/** After parsing, version is always set (configParse resolves the default). */
export type KedaConfig = Omit<z.output<typeof kedaSchema>, "version"> & { version: string };

// ---- monitoring: the Prometheus KEDA and the metric gates read ----

/** `<namespace>/<service>:<port>` of a Prometheus running in the cluster. */
export const PROMETHEUS_SERVICE_PATTERN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?):(\d{1,5})$/;

/**
 * One of three ways to name the Prometheus (infra/release/prometheusTarget.ts checks that only one is used):
 * `install: true` installs kube-prometheus-stack (operator + Prometheus) from this stack and turns on
 * the sie-cluster chart's ServiceMonitor; `service` names one already in the cluster; `url` is an
 * address that KEDA (in the cluster) and the metric gates (outside it) can both reach.
 */
const prometheusSchema = z.strictObject({
  install: z.boolean().default(false),
  /** install only: prometheus-community/kube-prometheus-stack chart version. */
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, "must be a kube-prometheus-stack chart version such as 88.5.3")
    .optional(),
  /** install only: namespace of the Prometheus release (default monitoring). */
  namespace: dnsLabel(63).optional(),
  /** install only: a PersistentVolumeClaim of this size for the TSDB (default: the pod's emptyDir). */
  storageSize: z
    .string()
    .regex(/^\d+(Mi|Gi|Ti)$/, "must be a storage size such as 50Gi")
    .optional(),
  /** install only: extra kube-prometheus-stack values (the selectors sie-fleet sets may not be overridden). */
  values: z.record(z.string(), z.unknown()).optional(),
  /** An existing in-cluster Prometheus: `<namespace>/<service>:<port>`, e.g. monitoring/prometheus-operated:9090. */
  service: z.string().regex(PROMETHEUS_SERVICE_PATTERN, "must be <namespace>/<service>:<port>, e.g. monitoring/prometheus-operated:9090").optional(),
  /** An existing Prometheus at an address reachable from inside the cluster and from where sie-fleet runs. */
  url: z.url({ protocol: /^https?$/ }).optional(),
});

const monitoringSchema = z.strictObject({ prometheus: prometheusSchema.optional() });
export type MonitoringInput = z.output<typeof monitoringSchema>;

// ---- rollout policy (consumed by the automation layer) ----

/** Named checks of automation/verify, listed here so stack files are validated without importing automation. */
export const VERIFY_CHECKS = [
  "rollout",
  "images",
  "gateway-readyz",
  "gateway-health",
  "gateway-models",
  "config-healthz",
  "encode-smoke",
  "gateway-sample",
  "config-sample",
  "keda",
  "prometheus",
  "metric-gates",
] as const;
export type VerifyCheckName = (typeof VERIFY_CHECKS)[number];

/** Where a tag must have proven itself before this stack takes it (automation/plan/promotionPolicy.ts). */
const promotionSchema = z.strictObject({
  /** Another stack of this project (same backend), e.g. "staging". */
  from: z
    .string()
    .regex(
      STACK_NAME_PATTERN,
      `must be the name of another stack of this project, e.g. staging (${STACK_NAME_RULE}): pulumi config set --path sie-fleet:rollout.promotion.from staging`,
    ),
  /** How long `from` must have run the tag since its verified upgrade; fractions allowed (0.5 = 30 s). */
  minSoakMinutes: z.number().min(0),
});
/** What an upgrade does with a pool running 0 workers (rollout.zeroReplicaPools). */
export const ZERO_REPLICA_POLICIES = ["probe", "report"] as const;
export type ZeroReplicaPolicy = (typeof ZERO_REPLICA_POLICIES)[number];

export const rolloutSchema = z.strictObject({
  /** Pool upgraded first and observed before the others. */
  canaryPool: nonEmpty.optional(),
  /** Order of the pools after the canary (listing the canary is allowed; it still goes first); unlisted pools follow in config order. */
  waveOrder: z.array(nonEmpty).default([]),
  /** Pools per wave after the canary. */
  batchSize: posInt.default(1),
  gates: z
    .strictObject({
      maxErrorRatio: z.number().min(0).max(1).default(0.01),
      maxP95LatencyMs: z.number().positive().default(2000),
      observationWindowSeconds: posInt.default(300),
      intervalSeconds: posInt.default(30),
      /** Failed measurements tolerated before the gate fails. */
      failureLimit: nonNegInt.default(0),
      /**
       * Prometheus HTTP API base URL for the metric gates, as reachable from where sie-fleet runs
       * (e.g. a port-forward or an ingress to the Prometheus monitoring.prometheus names). With
       * monitoring.prometheus.url it defaults to that URL and may not differ. Without any Prometheus
       * an upgrade whose checks include prometheus or metric-gates is refused (gate-unreachable).
       */
      prometheusUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** Which verification checks run after each wave and at the end (automation/verify). */
      checks: z.strictObject({ wave: z.array(z.enum(VERIFY_CHECKS)).optional(), final: z.array(z.enum(VERIFY_CHECKS)).optional() }).prefault({}),
      /**
       * Checks left out of both phases for every run of this stack, although its lists (or the
       * defaults) name them. Unlike a shorter `checks` list this is a declared gap: each upgrade
       * and rollback journals it and ends succeeded-unverified (exit 7), never succeeded.
       */
      skip: z.array(z.enum(VERIFY_CHECKS)).default([]),
      /** Valid samples needed before a metric gate decides anything (default: half the window's count, rounded up). */
      minSamples: posInt.optional(),
      /** A sample with fewer requests than this in its rate window is inconclusive, not a pass. */
      minRequests: nonNegInt.default(20),
      /** Range of rate()/increase() in the metric queries (default: max(intervalSeconds, 60)). */
      rateWindowSeconds: posInt.optional(),
      /** Per attempt of one check (HTTP, Kubernetes reads). */
      checkTimeoutSeconds: posInt.default(30),
      /**
       * Attempts after the first for checks that may still settle (rollout, readiness). With the
       * default backoff they wait about a minute in all, the first retry after a quarter second: a
       * check that is pending only because the new pods were seen a moment late costs little.
       */
      retries: nonNegInt.default(8),
      /** First backoff between attempts; doubles each time (capped at 30 s). */
      backoffSeconds: z.number().positive().default(0.25),
      /** Checks run at the same time: a wave's checks are light reads and requests, all at once by default. */
      concurrency: posInt.default(8),
      /**
       * The gateway-sample and config-sample gates: requests sent straight to the gateway (encodes)
       * or the config service (/healthz), judged on their error count and p95. The number of
       * requests and the errors tolerated follow from the three rates (automation/verify/sampleSize.ts);
       * the ranges keep that number under a few thousand.
       */
      sample: z
        .strictObject({
          /** Error ratio caught with probability >= confidence. */
          detectErrorRatio: z.number().min(0.05).lt(1).default(0.1),
          /** Error ratio that still passes with probability >= confidence; at most half of detectErrorRatio. */
          healthyErrorRatio: z.number().min(0).default(0.01),
          confidence: z.number().min(0.9).max(0.999).default(0.99),
          /** Requests in flight at once. */
          concurrency: posInt.max(32).default(4),
          /** Absolute p95 bounds; gateway defaults to maxP95LatencyMs (its encodes reach the workers). */
          maxP95LatencyMs: z.strictObject({ gateway: z.number().positive().optional(), config: z.number().positive().default(1000) }).prefault({}),
          /** With a pre-upgrade sample: p95 may rise by max(maxP95IncreaseMs, maxP95IncreaseRatio × baseline p95). */
          maxP95IncreaseMs: z.number().min(0).default(250),
          maxP95IncreaseRatio: z.number().min(0).default(0.5),
          /**
           * A sample failing on latency is taken again, one intervalSeconds later, and the gate fails
           * only if that one fails too: latency on a busy node comes in bursts a sample can land in.
           * A failure on errors stands at once (the plan already budgets them, and a second chance
           * would let a failing version through more often). false: the first latency failure reverts.
           */
          confirmLatencyFailures: z.boolean().default(true),
        })
        .refine((s) => s.healthyErrorRatio <= s.detectErrorRatio / 2, {
          message: "healthyErrorRatio must be at most half of detectErrorRatio",
          path: ["healthyErrorRatio"],
        })
        .prefault({}),
      /** Relative comparison with the pre-upgrade baseline of the same pool (Kayenta-style). */
      mannWhitney: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** One-sided significance level ("canary worse than baseline"). */
          alpha: z.number().gt(0).lt(1).default(0.05),
          /** Relative worsening of the median tolerated, e.g. 0.2 = 20 %. */
          tolerance: z.number().min(0).default(0.2),
          /** Absolute floors below which a difference is noise. */
          minErrorRatioDelta: z.number().min(0).max(1).default(0.005),
          minLatencyDeltaMs: z.number().min(0).default(50),
          /** false: a significant worsening only warns. */
          enforce: z.boolean().default(true),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Largest minor-version jump allowed in one upgrade. */
  maxMinorSkip: nonNegInt.default(1),
  /** Versions that cannot be rolled back across (e.g. a data-format change). */
  forwardOnly: z.array(imageTag).default([]),
  timeouts: z
    .strictObject({
      applySeconds: posInt.default(1200),
      verifySeconds: posInt.default(900),
      /**
       * How long a pod of the new revision may run without becoming Ready before the wave fails.
       * Default: the chart's startup-probe budget (workers 11 minutes, gateway and config 2).
       */
      notReadySeconds: posInt.optional(),
    })
    .prefault({}),
  revertOnFailure: z.boolean().default(true),
  /** Promotion policy: upgrades are refused until `from` verified the tag and soaked it. */
  promotion: promotionSchema.optional(),
  /**
   * A pool KEDA scaled to zero has no worker to run the new version on. `probe`: its wave scales it
   * to one worker (through the KEDA freeze), verifies it and puts the count back; `report`: it is
   * left at zero and the run ends listing it as unverified.
   */
  zeroReplicaPools: z.enum(ZERO_REPLICA_POLICIES).default("probe"),
});
export type RolloutConfig = z.output<typeof rolloutSchema>;

/** Sections other than platform/cluster/pools/hfToken, with their schema and whether they may be omitted. */
export const sectionSchemas = {
  release: releaseSchema,
  autoscaling: autoscalingSchema.prefault({}),
  keda: kedaSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  rollout: rolloutSchema.prefault({}),
} as const;
