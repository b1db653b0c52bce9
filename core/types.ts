/**
 * Domain types shared by the library, the CLI and the journal. Pure declarations plus the few
 * constant tables that make closed unions checkable at runtime (pulumi-eks style: a const
 * array and the union derived from it).
 */
import { EXIT_CODES, type ExitCode } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// JSON

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Phases of a run

/** Every phase a run can be in, in the order an upgrade passes through them. */
export const RUN_PHASES = [
  "lock",
  "preflight",
  "snapshot",
  "freeze",
  "set-config",
  "preview",
  "guardrails",
  "hold",
  "apply",
  "wave",
  "verify",
  "thaw",
  "revert",
  "rollback",
  "recover",
  "done",
] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/** The command that started a run; recorded in locks and journals. */
export const RUN_COMMANDS = ["upgrade", "preview", "up", "rollback", "recover", "verify", "demo"] as const;
export type RunCommand = (typeof RUN_COMMANDS)[number];

// ---------------------------------------------------------------------------------------------
// Evidence and gates

/** What a failing pod looked like when we saw it. */
export type PodEvidence = {
  pod: string;
  /** CrashLoopBackOff, ImagePullBackOff, ErrImagePull, NotReady, … */
  reason: string;
  restartCount: number;
  image: string;
  /** The container's waiting/terminated message, or how long it has been unready. */
  message?: string;
  /** controller-revision-hash or pod-template-hash of the pod. */
  revision?: string;
};

/**
 * Facts attached to a gate result or event. Free-form JSON so gates can report what they measured,
 * with `pods` reserved for pod evidence. Must never contain secrets (reporters redact anyway).
 */
export type Evidence = { [key: string]: JsonValue | undefined } & { pods?: PodEvidence[] };

export const GATE_STATUSES = ["pass", "fail", "warn"] as const;
export type GateStatus = (typeof GATE_STATUSES)[number];

/** One health check's verdict. "warn" never fails a run; "fail" triggers the revert. */
export interface GateResult {
  /** Stable name, e.g. "rollout:StatefulSet/sie-worker-l4" or "gateway-readyz". */
  name: string;
  status: GateStatus;
  /** One line for humans. */
  message: string;
  evidence: Evidence;
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Waves

export const WAVE_KINDS = ["pool", "gateway", "config"] as const;
export type WaveKind = (typeof WAVE_KINDS)[number];

/** One step of the leaf→core release: a set of worker pools, the gateway, or the config service. */
export interface WaveSpec {
  /** "canary", "pools-1", "pools-2", …, "gateway", "config". */
  name: string;
  kind: WaveKind;
  /** The pools released in this wave (kind "pool" only). */
  pools?: string[];
}

export type WaveStatus = "pending" | "released" | "succeeded" | "failed" | "skipped";

export interface WaveReport {
  wave: WaveSpec;
  status: WaveStatus;
  gates: GateResult[];
  startedAt?: string;
  finishedAt?: string;
}

// ---------------------------------------------------------------------------------------------
// Preview steps and guardrails

/** Pulumi step operations (`OpType` in the automation SDK), repeated so pure code needs no SDK import. */
export type StepOp =
  | "same"
  | "create"
  | "update"
  | "delete"
  | "replace"
  | "create-replacement"
  | "delete-replaced"
  | "read"
  | "read-replacement"
  | "refresh"
  | "discard"
  | "discard-replaced"
  | "remove-pending-replace"
  | "import"
  | "import-replacement";

export type DiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

/** The part of a preview's `resourcePreEvent.metadata` the guardrails read. */
export interface PreviewStep {
  op: StepOp | (string & {});
  urn: string;
  type: string;
  /** Property paths whose change forces a replacement. */
  keys?: string[];
  detailedDiff?: { [path: string]: { diffKind: DiffKind | (string & {}); inputDiff?: boolean } };
}

export interface GuardrailViolation {
  urn: string;
  type: string;
  op: string;
  /** Says what would happen and why it is refused, naming the diff paths when known. */
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Rollback targets

export type RollbackTarget =
  | { kind: "previous" }
  | { kind: "tag"; tag: string }
  /** A Pulumi update number as listed by `history`. */
  | { kind: "update"; version: number };

// ---------------------------------------------------------------------------------------------
// Outcomes

export const UPGRADE_OUTCOMES = ["succeeded", "succeeded-unverified", "reverted", "refused", "needs-attention", "dry-run"] as const;
export type UpgradeOutcome = (typeof UPGRADE_OUTCOMES)[number];

/** Outcomes that end a run; a journal whose last entry is not one of these belongs to an unfinished run. */
export const TERMINAL_OUTCOMES = [...UPGRADE_OUTCOMES, "failed", "interrupted", "recovered"] as const;
export type RunOutcome = (typeof TERMINAL_OUTCOMES)[number];

export const OUTCOME_EXIT_CODES: Readonly<Record<UpgradeOutcome, ExitCode>> = {
  succeeded: EXIT_CODES.ok,
  "succeeded-unverified": EXIT_CODES.unverified,
  "dry-run": EXIT_CODES.ok,
  refused: EXIT_CODES.refused,
  reverted: EXIT_CODES.reverted,
  "needs-attention": EXIT_CODES.needsAttention,
};

export function exitCodeForOutcome(outcome: UpgradeOutcome): ExitCode {
  return OUTCOME_EXIT_CODES[outcome];
}

/** A finished run's exit code: its outcome's, unless a refusal carries its own. */
export function exitCodeForResult(result: { outcome: UpgradeOutcome; exitCode?: ExitCode }): ExitCode {
  return result.outcome === "refused" && result.exitCode !== undefined ? result.exitCode : exitCodeForOutcome(result.outcome);
}

// ---------------------------------------------------------------------------------------------
// Progress events

/** Version of the event and --json schema (docs/json-output.md). Bump only on breaking changes. */
export const EVENT_SCHEMA_VERSION = 1;

interface EventBase {
  /** Schema version; see EVENT_SCHEMA_VERSION. */
  v: typeof EVENT_SCHEMA_VERSION;
  runId: string;
  phase: RunPhase;
  /** ISO-8601 UTC. */
  time: string;
  /** One human line; reporters print it as is. */
  message: string;
  wave?: string;
  pool?: string;
  evidence?: Evidence;
}

export type PhaseStatus = "started" | "succeeded" | "failed" | "skipped";

/** A phase started or ended. */
export interface PhaseEvent extends EventBase {
  kind: "phase";
  status: PhaseStatus;
  durationMs?: number;
}

/** A wave moved: released (holds lifted), succeeded (gates passed) or failed. */
export interface WaveEvent extends EventBase {
  kind: "wave";
  wave: string;
  status: Exclude<WaveStatus, "pending">;
  waveKind: WaveKind;
  pools?: string[];
}

/** A gate reported. */
export interface GateEvent extends EventBase {
  kind: "gate";
  gate: GateResult;
}

/** A rollout poll observed progress on one workload. */
export interface RolloutEvent extends EventBase {
  kind: "rollout";
  resource: { kind: "StatefulSet" | "Deployment" | "DaemonSet"; namespace: string; name: string };
  done: boolean;
  reason: string;
}

/** A Pulumi step (preview or apply) on one resource. */
export interface ResourceEvent extends EventBase {
  kind: "resource";
  op: string;
  urn: string;
  resourceType: string;
  status: "planned" | "running" | "done" | "failed";
  durationMs?: number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Anything else worth telling: decisions, warnings, takeovers of stale locks. */
export interface LogEvent extends EventBase {
  kind: "log";
  level: LogLevel;
}

/** The run ended. Always the last event of a run. */
export interface OutcomeEvent extends EventBase {
  kind: "outcome";
  outcome: RunOutcome;
  exitCode: number;
}

/** `upgrade --stacks`: one stack of the fleet run is finished (runId is the fleet run's). */
export interface StackEvent extends EventBase {
  kind: "stack";
  stack: string;
  /** succeeded, already, refused, reverted, needs-attention, error (FleetStackOutcome). */
  outcome: string;
  exitCode: number;
  /** The stack's own run, whose journal has the details. */
  stackRunId?: string;
}

export type ProgressEvent = PhaseEvent | WaveEvent | GateEvent | RolloutEvent | ResourceEvent | LogEvent | OutcomeEvent | StackEvent;

/** Receives progress. The library only ever emits to one of these, never to the console. */
export interface Reporter {
  emit(event: ProgressEvent): void;
  /** Flush and stop spinners; called once when the command ends. */
  close?(): void | Promise<void>;
}

/** A clock, injectable so tests control time. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * What every action receives from its caller (the CLI, a test, another program). Actions take
 * their own `XOptions` plus this; they never read process.env, argv or the console themselves.
 */
export interface ActionContext {
  /** Journals and locks live here (default .sie-fleet). */
  stateDir: string;
  reporter: Reporter;
  /** Aborted on Ctrl-C; actions stop at the next safe point and record it. */
  signal?: AbortSignal;
  /** Values redacted from everything written (passphrase, HF token, kubeconfig content). */
  secrets: readonly string[];
  /** --yes: proceed without asking. */
  yes: boolean;
  /** Never prompt (stdin is not a TTY, CI, or --non-interactive). */
  nonInteractive: boolean;
  verbose: boolean;
  /** Environment for the Pulumi CLI and kubeconfig lookup (default process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}
