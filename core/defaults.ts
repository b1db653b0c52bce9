/**
 * The engine's defaults in one place (argo-rollouts keeps its defaults in one file for the same
 * reason: the CLI, the library and the docs must agree). Values are data so callers can extend
 * them. Defaults of the stack config (`sie-fleet:rollout` and the rest) are applied by its schema,
 * infra/config/configSchema.ts, and nowhere else.
 */

// ---------------------------------------------------------------------------------------------
// Where state lives

/** State directory (journals, locks) relative to the working directory; `--state-dir` or SIE_FLEET_STATE_DIR override it. */
export const DEFAULT_STATE_DIR = ".sie-fleet";
export const STATE_DIR_ENV = "SIE_FLEET_STATE_DIR";
export const STACK_ENV = "SIE_FLEET_STACK";

// ---------------------------------------------------------------------------------------------
// Timing

export const TIMEOUTS = {
  /** Waiting for a Pulumi operation left running by a killed run before recovering its stack. */
  orphanedPulumiMs: 15 * 60_000,
  /** A takeover marker older than this belongs to a process that died mid-takeover. */
  lockTakeoverStaleMs: 30_000,
} as const;

/**
 * The stack's lock in the cluster: a coordination.k8s.io/v1 Lease in the release namespace that
 * the run renews while it lives. A holder that stopped renewing for `expirySeconds` may be taken
 * over by `recover` (and only by recover); a holder on this machine whose process is gone is taken
 * over at once. The run itself stops before its next step once `expirySeconds - renewSeconds`
 * passed without a renewal, so it never acts after someone else could have taken the lock.
 * Expiry is judged with the reader's clock against the holder's renewTime: keep clocks in sync
 * (NTP); a skew well below `expirySeconds - renewSeconds` is harmless.
 */
export const CLUSTER_LOCK = {
  expirySeconds: 120,
  renewSeconds: 20,
  /** Override both (whole seconds), e.g. shorter in tests. */
  expiryEnv: "SIE_FLEET_LOCK_EXPIRY_SECONDS",
  renewEnv: "SIE_FLEET_LOCK_RENEW_SECONDS",
} as const;

/**
 * The shared copy of each run's journal: one ConfigMap per run in the release namespace.
 * ConfigMaps hold at most 1 MiB, so the shared copy is bounded: evidence and decisions larger
 * than `maxEntryBytes` keep a summary (gate name, status and message; pod evidence and other
 * detail stay in the local journal), and once the object nears `maxObjectBytes` they keep only a
 * marker. Intents, done entries and outcomes (what `recover` acts on) are never shortened; a run
 * whose shared copy cannot take one stops before the side effect.
 */
export const SHARED_JOURNAL = {
  maxEntryBytes: 8 * 1024,
  maxObjectBytes: 900 * 1024,
  /** Finished runs kept in the cluster per stack; older ones are deleted when a run takes the lock. */
  keepFinishedRuns: 50,
} as const;

/** Labels and annotations sie-fleet puts on its Lease and journal ConfigMaps. */
export const FLEET_METADATA = {
  managedBy: "app.kubernetes.io/managed-by",
  stack: "sie-fleet.superlinked.com/stack",
  runId: "sie-fleet.superlinked.com/run-id",
  command: "sie-fleet.superlinked.com/command",
  phase: "sie-fleet.superlinked.com/phase",
  /** A run's outcome, or "unfinished". */
  outcome: "sie-fleet.superlinked.com/outcome",
  host: "sie-fleet.superlinked.com/host",
  pid: "sie-fleet.superlinked.com/pid",
  /** Which kernel and pid namespace `pid` belongs to: a holder's pid can be checked only from there. */
  machine: "sie-fleet.superlinked.com/machine",
  startedAt: "sie-fleet.superlinked.com/started-at",
  updatedAt: "sie-fleet.superlinked.com/updated-at",
} as const;

export const POLL_INTERVALS = {
  /** Between two rollout-status reads. */
  rolloutMs: 2_000,
  /** `status --watch` refresh. */
  statusWatchMs: 2_000,
} as const;

/**
 * How long a pod of the new revision may be Running but not Ready (or unscheduled) before we call
 * it failed: the cap for a pod still starting. A started pod's readiness probe may fail it sooner
 * (kube/podHealth.ts). Workers get their startup-probe budget (10 s × 60) plus a margin; gateway
 * and config boot in about a minute (startup probe 5 s × 12).
 */
export const NOT_READY_AFTER_MS = {
  pool: 11 * 60_000,
  gateway: 2 * 60_000,
  config: 2 * 60_000,
} as const;

// ---------------------------------------------------------------------------------------------
// Verification

/**
 * How automation/verify's runner runs checks when its caller gives no policy. An upgrade passes
 * the stack's `rollout.gates` (checkTimeoutSeconds, retries, backoffSeconds and concurrency, with
 * the config schema's defaults), so in a run only `maxBackoffMs` comes from here.
 */
export const CHECK_RUN = {
  /** Checks at once. */
  concurrency: 4,
  /** Per attempt. */
  timeoutMs: 30_000,
  /** Attempts after the first. */
  retries: 5,
  /** First backoff; doubles per attempt up to maxBackoffMs. */
  backoffMs: 2_000,
  maxBackoffMs: 30_000,
} as const;

/** Encode requests per encode-smoke check. */
export const SMOKE_REQUESTS = 10;

/** Per Prometheus request when the caller sets none (a run uses `rollout.gates.checkTimeoutSeconds`). */
export const PROMETHEUS_TIMEOUT_MS = 10_000;

/** Measurements of a metric gate that may error in a row before the analysis ends in Error (Argo Rollouts' default). */
export const CONSECUTIVE_ERROR_LIMIT = 4;

// ---------------------------------------------------------------------------------------------
// Guardrails

export type GuardedKind = "cluster" | "node-pool" | "namespace" | "scaled-object";

/** A resource type the preview must never replace or delete. */
export interface GuardedType {
  /** Pulumi type token, e.g. "gcp:container/nodePool:NodePool". */
  type: string;
  kind: GuardedKind;
  /**
   * Only URNs whose resource name (the part after the last "::") matches. Needed for generic tokens
   * such as dynamic resources, where the type alone does not say what the resource is.
   */
  namePattern?: RegExp;
}

/**
 * Types whose replacement or deletion would take down capacity or state. Extend with
 * `[...GUARDED_TYPES, {...}]`.
 */
export const GUARDED_TYPES: readonly GuardedType[] = [
  { type: "gcp:container/cluster:Cluster", kind: "cluster" },
  { type: "gcp:container/nodePool:NodePool", kind: "node-pool" },
  { type: "aws:eks/cluster:Cluster", kind: "cluster" },
  { type: "aws:eks/nodeGroup:NodeGroup", kind: "node-pool" },
  { type: "eks:index:Cluster", kind: "cluster" },
  { type: "eks:index:ManagedNodeGroup", kind: "node-pool" },
  // Deleting a Karpenter NodePool (or its EC2NodeClass) drains and terminates every node it made.
  { type: "kubernetes:karpenter.sh/v1:NodePool", kind: "node-pool" },
  { type: "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", kind: "node-pool" },
  { type: "kubernetes:core/v1:Namespace", kind: "namespace" },
  // A CustomResource's token is `kubernetes:<apiVersion>:<kind>`; the generic token is kept for
  // programs that register ScaledObjects through a wrapper with that name.
  { type: "kubernetes:keda.sh/v1alpha1:ScaledObject", kind: "scaled-object" },
  { type: "kubernetes:apiextensions.k8s.io:CustomResource", kind: "scaled-object", namePattern: /scaledobject|-scaler$/i },
];

/** Matches a resource by type token and, optionally, by its name (the URN's last segment). */
export interface ResourceMatcher {
  type: string;
  namePattern?: RegExp;
}

/**
 * The release: the one resource an image-tag upgrade is expected to update. Matched by name too,
 * because the KEDA chart is also a helm.v3.Release and must not change during an upgrade.
 * The name follows infra/release/release.ts ("sie-cluster").
 */
export const RELEASE_RESOURCES: readonly ResourceMatcher[] = [{ type: "kubernetes:helm.sh/v3:Release", namePattern: /^sie-cluster$/ }];

/**
 * Diff paths (Pulumi property paths) an upgrade may change on the release. Anything else in the
 * release's detailedDiff is a violation unless the caller allows it.
 */
export const RELEASE_UPGRADE_PATHS: readonly RegExp[] = [
  /^values\.(gateway|config|workers\.common)\.image\.tag$/,
  /^values\.workers\.pools\.[^.]+\.image\.tag$/,
  /^version$/,
  /^chart(Version)?$/,
];

/**
 * Changes every preview accepts besides the release's: the provider and the stack resource change
 * when config does, and carry no infrastructure. `upgrade` and `preview` judge with the same list,
 * so a preview says ok exactly when the upgrade's guardrails would.
 */
export const ALWAYS_ALLOWED_CHANGES: readonly { op: string; type: string }[] = [
  { op: "update", type: "pulumi:providers:kubernetes" },
  { op: "update", type: "pulumi:pulumi:Stack" },
];

// ---------------------------------------------------------------------------------------------
// Kubernetes and KEDA

export const KEDA = {
  group: "keda.sh",
  version: "v1alpha1",
  plural: "scaledobjects",
  pausedReplicasAnnotation: "autoscaling.keda.sh/paused-replicas",
  pausedAnnotation: "autoscaling.keda.sh/paused",
} as const;

/** Pod waiting reasons that fail a rollout on first sight. */
export const FAIL_FAST_WAITING_REASONS: readonly string[] = [
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
];

// ---------------------------------------------------------------------------------------------
// Secrets

/** Object keys whose values are always redacted, whatever they contain. */
export const SECRET_KEY_PATTERN = /(token|passphrase|password|passwd|kubeconfig|api[-_]?key|private[-_]?key|client[-_]?secret|credentials?)$/i;

/** Environment variables whose values are secrets (redacted wherever they appear). */
export const SECRET_ENV_VARS: readonly string[] = [
  "PULUMI_CONFIG_PASSPHRASE",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
  "PULUMI_ACCESS_TOKEN",
  "KUBECONFIG_CONTENT",
];

export const REDACTED = "[REDACTED]";
