/**
 * Typed errors and the one exit-code table. Every error the library throws on purpose is a
 * `SieFleetError`: a stable `code` for scripts, an `exitCode` for the CLI, and a `hint` naming
 * the next command to run. Only `cli/main.ts` turns these into a process exit.
 *
 * Messages follow one shape: what happened, the offending value, what to do.
 */

import { forbiddenText, missingRule, parseForbidden, RBAC_DOC, RBAC_MANIFESTS, type Denied } from "./forbidden.js";

/**
 * Exit codes, documented in docs/exit-codes.md. Scripts depend on these numbers: never renumber,
 * only add.
 */
export const EXIT_CODES = {
  /** The command did what was asked (an upgrade succeeded, a dry-run ran, a read command answered). */
  ok: 0,
  /** A bug or an unexpected failure; nothing guarantees the stack was left untouched. */
  internal: 1,
  /** Bad flags, arguments or configuration; nothing was changed. */
  usage: 2,
  /** The stack does not exist, another run holds its lock, its cluster cannot be reached or the kubeconfig lacks a permission; nothing was changed. */
  stack: 3,
  /** Refused by the version or promotion policy, a preflight check (capacity, health, KEDA, a check that cannot look) or a preview guardrail; nothing was applied. */
  refused: 4,
  /** The upgrade failed a gate and the stack was reverted to its previous config, which verified healthy. */
  reverted: 5,
  /** A revert or recovery failed, or the state is unknown: a person must look before anything else runs. */
  needsAttention: 6,
  /**
   * The upgrade was applied and every check it ran passed, but something was not looked at: checks left out
   * (rollout.gates.skip, --skip-check, --force), or pools running 0 workers left at zero (rollout.zeroReplicaPools: report).
   */
  unverified: 7,
  /** Interrupted (Ctrl-C twice, SIGTERM); run `recover` to finish or undo the run. */
  interrupted: 130,
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;
export type ExitCode = (typeof EXIT_CODES)[ExitCodeName];

export interface SieFleetErrorOptions {
  /** The next command a person should run, e.g. "sie-fleet status --stack dev". */
  hint?: string;
  cause?: unknown;
  /** Machine-readable facts (the holder of a lock, the violating URNs); must hold no secrets. */
  details?: Record<string, unknown>;
}

export class SieFleetError extends Error {
  /** Stable identifier such as "stack-locked"; part of the --json contract. */
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, exitCode: ExitCode, message: string, opts: SieFleetErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  /** The error as it appears in --json output and journals. */
  toJSON(): { name: string; code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>; cause?: string } {
    return {
      name: this.name,
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
      ...(this.cause !== undefined ? { cause: describeCause(this.cause) } : {}),
    };
  }
}

/** Bad flags or arguments (exit 2). */
export class UsageError extends SieFleetError {
  constructor(message: string, opts: SieFleetErrorOptions & { code?: string } = {}) {
    super(opts.code ?? "usage", EXIT_CODES.usage, message, opts);
  }
}

/**
 * Invalid stack configuration (exit 2), from infra/config/configParse.ts or a setting the CLI needs
 * (passphrase, stack outputs). Thrown in the Pulumi program and the CLI alike.
 */
export class ConfigError extends SieFleetError {
  /** Every problem found, so the user fixes them in one pass. */
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], opts: SieFleetErrorOptions = {}) {
    const lines = problems.map((p) => `  ${p.key}: ${problemText(p)}`).join("\n");
    const head = problems.length === 1 ? "invalid configuration" : `${problems.length} configuration problems`;
    super("invalid-config", EXIT_CODES.usage, `${head}:\n${lines}`, {
      ...opts,
      details: { ...opts.details, problems: problems.map((p) => ({ key: p.key, reason: problemText(p) })) },
    });
    this.problems = problems;
  }
}

export interface ConfigProblem {
  /** The config key or field path, e.g. "sie-fleet:rollout.batchSize". */
  key: string;
  reason: string;
  /** What to do about it. */
  hint?: string;
}

function problemText(p: ConfigProblem): string {
  return p.hint ? `${p.reason} (${p.hint})` : p.reason;
}

/** The stack is missing, or cannot be used right now (exit 3). */
export class StackError extends SieFleetError {
  constructor(code: "stack-not-found" | "stack-locked" | "stack-busy" | (string & {}), message: string, opts: SieFleetErrorOptions = {}) {
    super(code, EXIT_CODES.stack, message, opts);
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  runId: string;
  command: string;
  startedAt: string;
  /** Where the lock is held, e.g. "Lease sie/sie-fleet-lock-dev" or the local lock file. */
  where?: string;
  /** Cluster locks: when the holder last renewed it and when it expires without a renewal. */
  renewedAt?: string;
  expiresAt?: string;
}

/** Another run holds the stack's lock (exit 3). */
export class StackLockedError extends StackError {
  readonly holder: LockHolder;
  constructor(stack: string, holder: LockHolder, lockPath: string, opts: { reason?: string } = {}) {
    const why = opts.reason ? ` (${opts.reason})` : "";
    const lease = holder.renewedAt
      ? `; held in ${holder.where ?? lockPath}, last renewed ${holder.renewedAt}, expires ${holder.expiresAt ?? "?"} unless renewed`
      : "";
    super(
      "stack-locked",
      `stack "${stack}" is locked by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, run ${holder.runId}, since ${holder.startedAt})${lease}${why}; ` +
        `wait for it to finish, or if that process is gone, run recover`,
      {
        hint: `sie-fleet status --stack ${stack}   # then, if the holder is gone: sie-fleet recover --stack ${stack}`,
        details: { stack, holder, lockPath },
      },
    );
    this.holder = holder;
  }
}

/**
 * The run no longer holds the stack's cluster lock (it could not renew it in time, or `recover`
 * took it over), so it stopped before its next step (exit 6). Whoever holds the lock now owns
 * the run's unfinished work.
 */
export class LockLostError extends SieFleetError {
  constructor(stack: string, message: string, opts: SieFleetErrorOptions = {}) {
    super("lock-lost", EXIT_CODES.needsAttention, `stack "${stack}": ${message}; this run stopped before its next step`, {
      hint: `sie-fleet status --stack ${stack}   # then, once no one holds the lock: sie-fleet recover --stack ${stack}`,
      ...opts,
    });
  }
}

/** A version-policy rule refused the change; nothing applied (exit 4). */
export class PolicyRefusedError extends SieFleetError {
  constructor(rule: string, message: string, opts: SieFleetErrorOptions = {}) {
    super(`policy-${rule}`, EXIT_CODES.refused, message, opts);
  }
}

/** A revert or recovery failed, or the state is unknown (exit 6). Never retried automatically. */
export class NeedsAttentionError extends SieFleetError {
  constructor(message: string, opts: SieFleetErrorOptions = {}) {
    super("needs-attention", EXIT_CODES.needsAttention, message, opts);
  }
}

/** A bug or an unexpected failure (exit 1). */
export class InternalError extends SieFleetError {
  constructor(message: string, opts: SieFleetErrorOptions = {}) {
    super("internal", EXIT_CODES.internal, message, {
      hint: "re-run with --verbose and attach the output of `sie-fleet support-bundle` to an issue",
      ...opts,
    });
  }
}

/** The run was interrupted by a signal (exit 130). */
export class InterruptedError extends SieFleetError {
  constructor(message = "interrupted", opts: SieFleetErrorOptions = {}) {
    super("interrupted", EXIT_CODES.interrupted, message, opts);
  }
}

/** A configured gate cannot reach what it judges (exit 4); nothing was changed. */
export class GateUnreachableError extends SieFleetError {
  constructor(message: string, opts: SieFleetErrorOptions) {
    super("gate-unreachable", EXIT_CODES.refused, message, opts);
  }
}

/** A failed Kubernetes API call (exit 1: unexpected at this point of a run). */
export class KubeApiError extends SieFleetError {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    message: string,
    cause?: unknown,
    /** A kind of failure with its own code, exit code and fix (see KubeForbiddenError). */
    kind?: { code: string; exitCode: ExitCode; message: string; hint: string; details?: Record<string, unknown> },
  ) {
    super(
      kind?.code ?? "kube-api",
      kind?.exitCode ?? EXIT_CODES.internal,
      kind?.message ?? `${operation} failed${status ? ` (HTTP ${status})` : ""}: ${message}`,
      {
        cause,
        hint: kind?.hint ?? "check that the cluster is reachable with the stack's kubeconfig: sie-fleet status --stack <stack>",
        details: { operation, ...(status !== undefined ? { status } : {}), ...kind?.details },
      },
    );
  }
}

/**
 * The API server refused the call (403): the kubeconfig's user lacks an RBAC permission. An
 * environment problem with a known fix, like an unreachable cluster (exit 3), and one error naming
 * the verb, resource and namespace to grant. Still a KubeApiError, so callers that tolerate a
 * missing permission (the capacity preflight without node access) keep recognising it.
 */
export class KubeForbiddenError extends KubeApiError {
  constructor(
    operation: string,
    readonly denied: Denied,
    cause?: unknown,
  ) {
    super(operation, 403, forbiddenText(denied, operation), cause, {
      code: "kube-forbidden",
      exitCode: EXIT_CODES.stack,
      message: forbiddenText(denied, operation),
      hint: `add the rule ${missingRule(denied)} to the Role or ClusterRole bound to the stack's kubeconfig user (docs/rbac.md lists every permission sie-fleet uses), then run the command again`,
      details: { denied },
    });
  }
}

export interface DemoProblem {
  check: "chart" | "go" | "disk";
  reason: string;
  fix: string;
}

/** The demo lacks something it cannot build (exit 2); nothing was built or changed. */
export class DemoPreflightError extends SieFleetError {
  readonly problems: readonly DemoProblem[];
  constructor(problems: readonly DemoProblem[]) {
    const lines = problems.map((p) => `  ${p.check}: ${p.reason}\n    fix: ${p.fix}`).join("\n");
    super("demo-preflight", EXIT_CODES.usage, `the demo cannot run here; nothing was built or changed:\n${lines}`, {
      hint: "fix what each line says, then run the demo again (npm run demo, or sie-fleet demo)",
      details: { problems },
    });
    this.problems = problems;
  }
}

/** Any thrown value as a SieFleetError: ours pass through, anything else is an InternalError. */
export function toSieFleetError(err: unknown): SieFleetError {
  if (err instanceof SieFleetError) return unreachableCluster(err) ?? err;
  if (err instanceof Error && err.name === "AbortError") return new InterruptedError(err.message, { cause: err });
  const pulumi = fromPulumiCommandError(err);
  if (pulumi) return pulumi;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`unexpected error: ${message}`, { cause: err });
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}

/**
 * A failed Pulumi CLI call (the Automation API's CommandError) carries the whole command line,
 * stdout and stderr in its message. Users need Pulumi's own `error:` lines only; a stack file
 * that is not valid YAML is bad input (exit 2) naming the file, anything else stays internal.
 */
function fromPulumiCommandError(err: unknown): SieFleetError | undefined {
  if (!(err instanceof Error) || (!/CommandError|StackNotFoundError|ConcurrentUpdateError/.test(err.name) && !/^code: -?\d+\n\s*stdout:/.test(err.message)))
    return undefined;
  const lines = err.message.split("\n");
  const errors = [
    ...new Set(
      lines
        .map((l) => l.trim())
        .filter((l) => l.startsWith("error: "))
        .map((l) => l.slice("error: ".length)),
    ),
  ];
  const argv = lines.find((l) => /Command failed with exit code/.test(l)) ?? "";
  const stack = /--stack (\S+)/.exec(argv)?.[1];
  const sub = /\/pulumi (\w+)/.exec(argv)?.[1] ?? "a command";
  const file = stack ? `stacks/Pulumi.${stack}.yaml` : "the stack config file";
  const yaml = errors.find((e) => /invalid YAML file/i.test(e));
  if (yaml) {
    return new ConfigError([{ key: file, reason: `not valid YAML (${yaml.replace(/^invalid YAML file:\s*/i, "")})` }], {
      hint: `fix ${file} (indentation, brackets, quotes) and run again`,
      cause: err,
    });
  }
  if (errors.length === 0) return undefined;
  // The Kubernetes provider or helm quoting the API server's refusal: Pulumi applies the chart with
  // the stack's kubeconfig, which then lacks the deployer's rights (docs/rbac.md, "Deployer").
  for (const e of errors) {
    const denied = parseForbidden(e);
    if (denied) {
      const purpose = `run pulumi ${sub}${stack ? ` for stack ${stack}` : ""}`;
      return new StackError(
        "kube-forbidden",
        forbiddenText(denied, purpose, `${RBAC_MANIFESTS.deployer}, ${RBAC_DOC} ("Deployer": pulumi applies the chart's objects)`),
        {
          hint: `bind the deployer's rights (${RBAC_MANIFESTS.deployer}, ${RBAC_DOC}) to the kubeconfig's user, or run this command as someone who has them`,
          cause: err,
          details: { denied, pulumiError: e },
        },
      );
    }
  }
  return new InternalError(`pulumi ${sub}${stack ? ` for stack ${stack}` : ""} failed: ${errors.join("; ")}`, { cause: err });
}

const CONNECT_FAILURE = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)\b|socket hang up/;

/**
 * A Kubernetes call that never got an HTTP answer means the cluster (or the embedded one) is
 * down or unreachable: an environment problem with its own fix, not a bug (exit 3, not 1).
 */
function unreachableCluster(err: SieFleetError): SieFleetError | undefined {
  if (err.code !== "kube-api" || err.details?.["status"] !== undefined) return undefined;
  const reason = CONNECT_FAILURE.exec(err.message)?.[0];
  if (!reason) return undefined;
  const server = /request to (https?:\/\/[^/\s]+)/.exec(err.message)?.[1] ?? "the cluster API";
  return new StackError(
    "cluster-unreachable",
    `cannot reach the cluster at ${server} (${reason}): ${String(err.details?.["operation"] ?? "a Kubernetes request")} got no answer`,
    {
      hint: "start the cluster (sie-fleet cluster status for the embedded one), or fix the stack's kubeconfig; if a run was in progress, then run sie-fleet recover",
      cause: err,
      details: { server, reason },
    },
  );
}
