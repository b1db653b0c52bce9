/**
 * Preview guardrails. Pure: given the steps a preview reported (`resourcePreEvent.metadata`) and a
 * policy, say whether applying is safe for an image upgrade.
 *
 * Two rules:
 * 1. Guarded types (clusters, node pools, namespaces, ScaledObjects) are never replaced or deleted:
 *    that destroys capacity or wipes what runs in them.
 * 2. An upgrade changes the release and nothing else. Any other change (or a change to the release
 *    outside the allowed diff paths, or a replacement of the release) means the stack's config or
 *    program drifted from what is deployed, and applying would ship that drift under the cover of
 *    an upgrade.
 */
import { GUARDED_TYPES, RELEASE_RESOURCES, RELEASE_UPGRADE_PATHS, type GuardedType, type ResourceMatcher } from "../../core/defaults.js";
import type { GuardrailViolation, PreviewStep } from "../../core/types.js";

export interface GuardrailPolicy {
  guardedTypes: readonly GuardedType[];
  /** Resource types an upgrade may update in place (any resource of the type). */
  allowedUpdateTypes?: readonly string[];
  /** Resources an upgrade may update in place, by type and name (the release). */
  allowedUpdates?: readonly ResourceMatcher[];
  /** Exact URNs that may also be updated in place. */
  allowedUpdateUrns?: readonly string[];
  /**
   * Property paths of allowed resources that may change. A path outside this list is a violation.
   * Undefined: any path. Steps without a detailedDiff are not checked (Pulumi omits it for some providers).
   */
  allowedDiffPaths?: readonly RegExp[];
  /** Further changes the caller accepts, e.g. `{op: "create", type: "kubernetes:core/v1:ConfigMap"}`. */
  allowedChanges?: readonly { op: string; type?: string; urnPattern?: RegExp }[];
}

export const DEFAULT_GUARDRAIL_POLICY: GuardrailPolicy = {
  guardedTypes: GUARDED_TYPES,
  allowedUpdates: RELEASE_RESOURCES,
  allowedDiffPaths: RELEASE_UPGRADE_PATHS,
};

export interface GuardrailResult {
  ok: boolean;
  violations: GuardrailViolation[];
  /** Steps that change something (op other than same/read/refresh). */
  changes: number;
}

/** Ops that do not change anything. */
const NO_CHANGE_OPS = new Set(["same", "read", "refresh"]);

/** Ops that destroy the existing resource (a replacement shows up as several of these). */
const DESTRUCTIVE_OPS = new Set([
  "replace",
  "create-replacement",
  "delete-replaced",
  "delete",
  "read-replacement",
  "discard-replaced",
  "import-replacement",
  "remove-pending-replace",
]);

/** Steps that change something (op other than same/read/refresh). */
export function countChanges(steps: readonly PreviewStep[]): number {
  return steps.filter((s) => !NO_CHANGE_OPS.has(s.op)).length;
}

export function checkGuardrails(steps: readonly PreviewStep[], policy: GuardrailPolicy = DEFAULT_GUARDRAIL_POLICY): GuardrailResult {
  const byUrn = new Map<string, GuardrailViolation>();
  let changes = 0;

  const add = (v: GuardrailViolation, severity: number): void => {
    const existing = byUrn.get(v.urn);
    if (!existing || severity > severityOf(existing.op)) byUrn.set(v.urn, v);
  };

  for (const step of steps) {
    if (NO_CHANGE_OPS.has(step.op)) continue;
    changes++;
    const name = urnName(step.urn);
    const label = `${step.type} "${name}"`;
    const paths = diffPaths(step);
    const guarded = guardedMatch(step, policy.guardedTypes);

    if (guarded && DESTRUCTIVE_OPS.has(step.op)) {
      add(
        {
          urn: step.urn,
          type: step.type,
          op: step.op,
          reason:
            `preview would ${verb(step.op)} ${label} (${guarded.kind}${describePaths(step, paths)}); ` +
            `this destroys ${guarded.kind === "namespace" ? "everything in it" : guarded.kind === "scaled-object" ? "autoscaling state" : "GPU capacity"} — ` +
            `revert the config change that causes it, or make that change outside an upgrade`,
        },
        severityOf(step.op),
      );
      continue;
    }

    if (isAllowedChange(step, policy)) continue;

    const allowedResource =
      (policy.allowedUpdateTypes?.includes(step.type) ?? false) ||
      (policy.allowedUpdates?.some((m) => matches(m, step)) ?? false) ||
      (policy.allowedUpdateUrns?.includes(step.urn) ?? false);
    if (allowedResource && step.op === "update") {
      const outside = policy.allowedDiffPaths ? paths.filter((p) => !policy.allowedDiffPaths!.some((re) => re.test(p))) : [];
      if (outside.length > 0) {
        add(
          {
            urn: step.urn,
            type: step.type,
            op: step.op,
            reason:
              `preview would change ${label} beyond the upgrade: ${outside.join(", ")}; ` +
              `an upgrade may only change image tags and the chart version — apply that change with \`sie-fleet up\` first`,
          },
          1,
        );
      }
      continue;
    }
    if (allowedResource) {
      add(
        {
          urn: step.urn,
          type: step.type,
          op: step.op,
          reason: `preview would ${verb(step.op)} the release ${label}${describePaths(step, paths)}; that uninstalls and reinstalls every workload — find the change that forces it (often the release name or namespace) and undo it`,
        },
        severityOf(step.op),
      );
      continue;
    }
    add(
      {
        urn: step.urn,
        type: step.type,
        op: step.op,
        reason: `preview would ${verb(step.op)} ${label}${describePaths(step, paths)}, which is not part of an image upgrade; apply that change on its own with \`sie-fleet up\` (or allow it in the guardrail policy), then upgrade`,
      },
      severityOf(step.op),
    );
  }

  const violations = [...byUrn.values()];
  return { ok: violations.length === 0, violations, changes };
}

/** The resource name: the part of the URN after the last "::". */
export function urnName(urn: string): string {
  const i = urn.lastIndexOf("::");
  return i < 0 ? urn : urn.slice(i + 2);
}

function guardedMatch(step: PreviewStep, guarded: readonly GuardedType[]): GuardedType | undefined {
  return guarded.find((g) => matches(g, step));
}

function matches(m: ResourceMatcher, step: PreviewStep): boolean {
  return m.type === step.type && (m.namePattern === undefined || m.namePattern.test(urnName(step.urn)));
}

function isAllowedChange(step: PreviewStep, policy: GuardrailPolicy): boolean {
  return (policy.allowedChanges ?? []).some(
    (c) => c.op === step.op && (c.type === undefined || c.type === step.type) && (c.urnPattern === undefined || c.urnPattern.test(step.urn)),
  );
}

function diffPaths(step: PreviewStep): string[] {
  return Object.keys(step.detailedDiff ?? {}).sort();
}

function describePaths(step: PreviewStep, paths: readonly string[]): string {
  const forcing = step.keys?.length ? step.keys : paths.filter((p) => String(step.detailedDiff?.[p]?.diffKind ?? "").endsWith("-replace"));
  const shown = forcing.length > 0 ? forcing : paths;
  if (shown.length === 0) return "";
  const list = shown.slice(0, 5).join(", ") + (shown.length > 5 ? `, +${shown.length - 5} more` : "");
  return forcing.length > 0 ? `; replacement forced by: ${list}` : `; diff: ${list}`;
}

function verb(op: string): string {
  switch (op) {
    case "replace":
    case "create-replacement":
    case "delete-replaced":
    case "read-replacement":
    case "import-replacement":
    case "discard-replaced":
    case "remove-pending-replace":
      return "REPLACE";
    case "delete":
      return "DELETE";
    case "create":
      return "create";
    case "update":
      return "update";
    default:
      return op;
  }
}

/**
 * When one URN has several steps, the violation shows the most telling one: the "replace" step of
 * a replacement, then its other steps, then a deletion, then any other change.
 */
function severityOf(op: string): number {
  if (op === "replace") return 4;
  if (verb(op) === "REPLACE") return 3;
  if (op === "delete") return 2;
  return 1;
}
