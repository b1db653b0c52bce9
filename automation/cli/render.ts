/** Human renderings of results. Pure: data in, lines out (golden-testable). */
import type { CapacityReport } from "../plan/capacity/report.js";
import { digestSummary } from "../../core/imageDigests.js";
import { formatDuration } from "../events/format.js";
import type { FleetResult } from "../actions/fleet.js";
import { KEDA_RULE, kedaOkText, kedaOverrideText, unreconciledText, type KedaPreflightReport } from "../plan/kedaPolicy.js";
import type { GateResult, GuardrailViolation, StepOp } from "../../core/types.js";
import type { UpgradeResult } from "../actions/results.js";
import { describeSkipped } from "../verify/skipped.js";

export function renderUpgradeResult(r: UpgradeResult, verb = "upgrade"): string[] {
  const from = r.from ?? "?";
  const took = formatDuration(r.durationMs);
  const tail = r.journalPath ? [`journal: ${r.journalPath}`] : [];
  switch (r.outcome) {
    case "succeeded":
      return [
        `✔ ${r.stack}: ${verb} ${from} → ${r.to} succeeded in ${took} (${r.waves.length} wave(s), ${r.gates.length} gate(s) passed)`,
        ...promotionLines(r),
        ...(r.digests?.length ? [`  verified digests: ${digestSummary(r.digests)}`] : []),
        ...tail,
      ];
    case "succeeded-unverified":
      return [
        `⚠ ${r.stack}: ${verb} ${from} → ${r.to} applied in ${took}, every check it ran passed, but it is not verified:`,
        ...(r.unverifiedPools?.length
          ? [
              `  unverified pools: ${r.unverifiedPools.join(", ")}: they run 0 workers and rollout.zeroReplicaPools is report, so no gate saw the new version there`,
            ]
          : []),
        ...(r.skippedChecks?.length ? [`  checks left out: ${describeSkipped(r.skippedChecks)}`] : []),
        ...tail,
        ...(r.unverifiedPools?.length
          ? [`next: set rollout.zeroReplicaPools to probe to verify such pools with one worker, or watch their first workers when KEDA starts them`]
          : []),
        ...(r.skippedChecks?.length
          ? [
              `next: give the left-out checks what they look at (e.g. monitoring.prometheus for prometheus and metric-gates), then \`sie-fleet verify --stack ${r.stack}\``,
            ]
          : []),
      ];
    case "reverted":
      return [
        `✖ ${r.stack}: ${verb} to ${r.to} failed gate ${r.failedGate.name}: ${r.failedGate.message}`,
        ...gateEvidence(r.failedGate),
        ...promotionLines(r),
        `↩ reverted to ${r.revertedTo}; the previous version verified healthy (${took} in all)`,
        ...tail,
        `next: fix the release, then \`sie-fleet upgrade --stack ${r.stack} --to <fixed tag>\``,
      ];
    case "refused":
      return [
        `⊘ ${r.stack}: ${verb} to ${r.to} refused by ${r.refusedBy} (${r.rule}); nothing was applied`,
        `  ${r.reason}`,
        ...violations(r.violations ?? []),
        ...(r.hint ? [`  next: ${r.hint}`] : []),
        ...(r.rule === "capacity" ? capacityLines(r.capacity) : []),
        ...(r.rule === KEDA_RULE ? kedaLines(r.keda) : []),
        ...tail,
      ];
    case "needs-attention":
      return [
        `‼ ${r.stack}: NEEDS ATTENTION — ${r.reason}`,
        ...(r.failedGate ? [`  failed gate ${r.failedGate.name}: ${r.failedGate.message}`, ...gateEvidence(r.failedGate)] : []),
        ...(r.revertError ? [`  revert failed: ${r.revertError}`] : []),
        ...tail,
        `next: \`sie-fleet status --stack ${r.stack}\`, fix what it shows, then \`sie-fleet recover --stack ${r.stack}\``,
      ];
    case "dry-run":
      return [
        `${r.stack}: dry run of ${verb} ${from} → ${r.to}: ${summary(r.changeSummary)}`,
        ...(r.violations.length > 0 ? ["guardrails would refuse:", ...violations(r.violations)] : ["guardrails: ok"]),
        ...capacityLines(r.capacity),
        ...kedaLines(r.keda),
        `nothing was changed; run again without --dry-run to apply`,
      ];
  }
}

/** The promotion's evidence; every override is marked "‼" so that it cannot be missed. */
function promotionLines(r: UpgradeResult): string[] {
  const p = r.promotion;
  if (!p) return [];
  const lines = p.allowed ? [`  promotion: ${p.reason}`] : [`‼ promoted WITHOUT the evidence the policy asks for (--force, ${p.rule}): ${p.reason}`];
  // A failed digest check is the failed gate, shown above; only overrides are added here.
  for (const c of p.digestChecks) if (c.status === "warn") lines.push(`  ${c.wave}: ${c.message}`);
  return lines;
}

export function renderFleetResult(r: FleetResult): string[] {
  const head =
    r.outcome === "succeeded"
      ? `✔ fleet ${r.stacks.map((s) => s.stack).join(" → ")} runs ${r.to} (${formatDuration(r.durationMs)})`
      : `✖ fleet stopped at ${r.stoppedAt}: the stacks after it were not touched (${formatDuration(r.durationMs)})`;
  return [
    head,
    ...table(
      ["STACK", "OUTCOME", "RUN", "ATTEMPTS", "WAITED", "MESSAGE"],
      r.stacks.map((s) => [s.stack, s.outcome, s.runId ?? "", String(s.attempts), s.waitedMs ? formatDuration(s.waitedMs) : "", s.message]),
    ).map((l) => `  ${l}`),
    `fleet journal: ${r.journalPath}${r.resumed ? " (resumed a killed fleet run)" : ""}`,
  ];
}

/** The capacity check per pool: what fits, what is short and why. */
export function capacityLines(c: CapacityReport | undefined): string[] {
  if (!c) return [];
  if (!c.checked) return [`capacity: not checked (${c.error ?? "the nodes could not be read"})`];
  const head = c.forced ? "capacity: short, overridden by --force" : c.short ? "capacity would refuse:" : "capacity: ok";
  return [head, ...c.pools.map((p) => `  ${p.ok ? "✔" : "✖"} ${p.message}`)];
}

/** The KEDA check: each ScaledObject that refuses and why, or the warning that nothing reconciles them. */
export function kedaLines(k: KedaPreflightReport | undefined): string[] {
  if (!k) return [];
  if (k.refusing.length > 0) {
    const head = k.forced ? `keda: broken, ${kedaOverrideText(k)}` : "keda would refuse:";
    return [head, ...k.refusing.map((r) => `  ✖ ${r.scaledObject}: ${r.problems.join("; ")}`)];
  }
  if (k.unreconciled.length > 0) return [`⚠ ${unreconciledText(k)}`];
  return [`keda: ok (${kedaOkText(k)})`];
}

export function summary(changes: Partial<Record<StepOp, number>>): string {
  const parts = Object.entries(changes)
    .filter(([op, n]) => op !== "same" && (n ?? 0) > 0)
    .map(([op, n]) => `${n} to ${op}`);
  return parts.length > 0 ? parts.join(", ") : "no changes";
}

export function violations(vs: readonly GuardrailViolation[]): string[] {
  return vs.map((v) => `  - ${v.reason}`);
}

export function gateLines(gates: readonly GateResult[]): string[] {
  return gates.flatMap((g) => [
    `${g.status === "pass" ? "✔" : g.status === "warn" ? "⚠" : "✖"} ${g.name}: ${g.message} (${formatDuration(g.durationMs)})`,
    ...gateEvidence(g),
  ]);
}

function gateEvidence(g: GateResult): string[] {
  return (g.evidence.pods ?? []).map(
    (p) => `    pod ${p.pod}: ${p.reason}, ${p.restartCount} restart(s), image ${p.image}${p.message ? ` — ${p.message}` : ""}`,
  );
}

/** Left-aligned columns; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}
