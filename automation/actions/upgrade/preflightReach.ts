// The reach preflight of `upgrade` and `rollback`: before anything changes, every gate the stack
// asks for must be able to look at what it judges. The gates reach the gateway and config Services
// (and an in-cluster Prometheus) through the API server; a Service that does not exist, has no
// Ready endpoint, or that the kubeconfig may not proxy to would turn each of those gates into a
// failure after the apply, and so into a needless revert, or worse into a check that never looked.
// So an upgrade is refused (exit 4, rule `gate-unreachable`; a missing services/proxy permission:
// exit 3, `kube-forbidden`) unless `--force`; a rollback only warns, as it is the way back exactly when the release is broken.
// A check whose target has no address at all (no Prometheus configured anywhere) could never look:
// upgrade and rollback alike are refused until it is configured or skipped explicitly
// (rollout.gates.skip, --skip-check); `--force` goes on without those checks and the run records
// them as skipped, so it cannot end plain `succeeded`.
import { GateUnreachableError, KubeForbiddenError, type SieFleetError } from "../../../core/errors.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { apiServerRefusal, type ApiServerRefusal, proxyName, serviceOfProxyUrl } from "../../kube/apiProxy.js";
import { parseForbidden } from "../../../core/forbidden.js";
import type { GateResult } from "../../../core/types.js";
import { resolveGates } from "../../verify/metricGates.js";
import { phaseChecks } from "../../verify/checks.js";
import { describe } from "../../verify/prometheus.js";
import type { VerifyCheckName } from "../../verify/types.js";
import type { StackContext } from "../context.js";

type Target = "gateway" | "config" | "prometheus";

/** Which checks look at which target, and the path that answers while it is up. */
const TARGETS: Record<Target, { checks: readonly VerifyCheckName[]; path: string; label: string }> = {
  gateway: { checks: ["gateway-readyz", "gateway-health", "gateway-models", "encode-smoke", "gateway-sample"], path: "/readyz", label: "the gateway" },
  config: { checks: ["config-healthz", "config-sample"], path: "/healthz", label: "the config service" },
  prometheus: { checks: ["prometheus", "metric-gates"], path: "/-/ready", label: "Prometheus" },
};

export interface ReachProbe {
  target: Target;
  url: string;
  /** The configured checks that need it. */
  checks: VerifyCheckName[];
  ok: boolean;
  /** The component's HTTP status, when it answered. */
  status?: number;
  refusal?: ApiServerRefusal;
  /** The API server's answer, kept for a 403 (it names the user and the permission). */
  body?: string;
  /** Why it is unreachable (no answer at all). */
  error?: string;
}

/** A target the run's checks need that has no address at all: those checks could never look. */
export interface MissingTarget {
  target: Target;
  checks: VerifyCheckName[];
}

export interface ReachReport {
  probes: ReachProbe[];
  missing?: MissingTarget[];
  forced?: "--force" | "rollback";
}

function probeText(p: ReachProbe): string {
  const what = TARGETS[p.target].label;
  if (p.ok) return `${what} answers (${p.status})`;
  if (p.refusal?.reason === "no-service") return `${what}: no such Service (${p.refusal.message})`;
  if (p.refusal?.reason === "no-endpoints") return `${what}: its Service has no Ready endpoint`;
  if (p.refusal) return `${what}: the API server could not reach it (${p.refusal.message})`;
  return `${what} does not answer at ${p.url} (${p.error ?? "?"})`;
}

/** Each target the run's checks need, with its address (undefined: none configured). */
function neededTargets(sc: StackContext): { target: Target; url: string | undefined; checks: VerifyCheckName[] }[] {
  const gates = resolveGates(sc.config.rollout.gates);
  const configured = new Set<VerifyCheckName>([...phaseChecks(gates, "wave"), ...phaseChecks(gates, "final")]);
  const urls: Record<Target, string | undefined> = { gateway: sc.gatewayUrl, config: sc.configUrl, prometheus: sc.prometheusUrl };
  return (Object.keys(TARGETS) as Target[])
    .map((target) => ({ target, url: urls[target], checks: TARGETS[target].checks.filter((c) => configured.has(c)) }))
    .filter((t) => t.checks.length > 0);
}

/** The run's checks whose target has no address at all. */
export function missingTargets(sc: StackContext): MissingTarget[] {
  return neededTargets(sc)
    .filter((t) => t.url === undefined)
    .map(({ target, checks }) => ({ target, checks }));
}

/** Probes every target a configured check needs; changes nothing, never throws. */
export async function assessReach(sc: StackContext, signal?: AbortSignal): Promise<ReachProbe[]> {
  const wanted = neededTargets(sc).filter((t): t is { target: Target; url: string; checks: VerifyCheckName[] } => t.url !== undefined);
  return Promise.all(
    wanted.map(async ({ target, url, checks }): Promise<ReachProbe> => {
      const full = `${url.replace(/\/+$/, "")}${TARGETS[target].path}`;
      const timeout = AbortSignal.timeout(10_000);
      try {
        const r = await sc.kube.http(full, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        const text = await r.text();
        const refusal = apiServerRefusal(r.status, text);
        if (!refusal) return { target, url: full, checks, ok: true, status: r.status };
        return { target, url: full, checks, ok: false, status: r.status, refusal, ...(refusal.reason === "forbidden" ? { body: text } : {}) };
      } catch (err) {
        return { target, url: full, checks, ok: false, error: timeout.aborted ? "no answer in 10 s" : describe(err) };
      }
    }),
  );
}

function missingText(m: MissingTarget): string {
  const what =
    m.target === "prometheus" ? "no Prometheus is configured" : `no ${TARGETS[m.target].label} address (the stack has no deployment output naming its Service)`;
  return `${m.checks.join(", ")}: ${what}, so ${m.checks.length > 1 ? "they" : "it"} could never look`;
}

function missingFix(m: MissingTarget, sc: StackContext): string {
  const file = `stacks/Pulumi.${sc.open.name}.yaml`;
  const configure =
    m.target === "prometheus"
      ? `name one in ${file}: monitoring.prometheus.service (<namespace>/<service>:<port>), .url or install: true, or rollout.gates.prometheusUrl (or set SIE_FLEET_PROMETHEUS_URL)`
      : `redeploy the release (sie-fleet up --stack ${sc.open.name}) or set SIE_FLEET_${m.target.toUpperCase()}_URL`;
  return `${configure}; or leave ${m.checks.length > 1 ? "them" : "it"} out explicitly with rollout.gates.skip: [${m.checks.join(", ")}] or ${m.checks.map((c) => `--skip-check ${c}`).join(" ")} (the run then ends succeeded-unverified, exit 7)`;
}

/**
 * Probes, reports one preflight gate per target, journals the verdict; returns the refusal when
 * something is unreachable and nothing overrides it (`--force`, or `rollback`: then a warning),
 * or when a check has no target at all and no `--force` (then `forceSkipped` names those checks).
 */
export async function preflightReach(
  sc: StackContext,
  opts: { force: boolean; rollback?: boolean; signal?: AbortSignal },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<{ report: ReachReport; refusal?: SieFleetError; forceSkipped?: VerifyCheckName[] }> {
  const probes = await assessReach(sc, opts.signal);
  const missing = missingTargets(sc);
  const bad = probes.filter((p) => !p.ok);
  const forbidden = bad.find((p) => p.refusal?.reason === "forbidden");
  // --force accepts gates that will judge the new version only; it cannot grant a permission, so a
  // refused services/proxy stays an error (a rollback, the way back, only warns).
  const forced = bad.length === 0 ? undefined : opts.rollback ? "rollback" : opts.force && !forbidden ? "--force" : undefined;
  // A check with nothing to look at is never a warning: only --force goes on, without it.
  const forceSkipped = opts.force && missing.length > 0 ? missing.flatMap((m) => m.checks) : undefined;
  const report: ReachReport = { probes, ...(missing.length > 0 ? { missing } : {}), ...(forced ? { forced } : {}) };
  for (const m of missing) {
    emit.gate("preflight", {
      name: `reach:${m.target}`,
      status: forceSkipped ? "warn" : "fail",
      message: forceSkipped ? `${missingText(m)}; left out by --force` : missingText(m),
      evidence: { checks: m.checks, configured: false },
      durationMs: 0,
    });
  }
  for (const p of probes) {
    const gate: GateResult = {
      name: `reach:${p.target}`,
      status: p.ok ? "pass" : forced ? "warn" : "fail",
      message: probeText(p),
      evidence: {
        url: p.url,
        checks: p.checks,
        ...(p.status !== undefined ? { status: p.status } : {}),
        ...(p.refusal ? { apiServer: { ...p.refusal } } : {}),
      },
      durationMs: 0,
    };
    emit.gate("preflight", gate);
  }
  const problems = bad.map(probeText).join("; ");
  const unlooked = missing.map(missingText).join("; ");
  const messages = [
    ...(bad.length > 0 ? [forced ? `unreachable, overridden by ${forced}: ${problems}` : `refused: ${problems}`] : []),
    ...(missing.length > 0 ? [forceSkipped ? `left out by --force: ${unlooked}` : `refused: ${unlooked}`] : []),
  ];
  const message = messages.length === 0 ? "every gate can reach what it judges" : messages.join("; ");
  await journal.decision("preflight", JOURNAL_ACTIONS.preflightReach, { message, data: report });
  const skipped = forceSkipped ? { forceSkipped } : {};
  if (missing.length > 0 && !forceSkipped) {
    return {
      report,
      refusal: new GateUnreachableError(`the run's checks cannot look at what they judge: ${unlooked}; nothing was changed`, {
        hint: `${missing.map((m) => missingFix(m, sc)).join("; ")}. --force also goes on without ${missing.flatMap((m) => m.checks).length > 1 ? "them" : "it"}, recorded as skipped`,
        details: { missing },
      }),
    };
  }
  if (bad.length === 0) {
    if (forceSkipped) emit.log("warn", "preflight", message);
    return { report, ...skipped };
  }
  if (forced) {
    emit.log("warn", "preflight", message);
    return { report, ...skipped };
  }
  if (forbidden) {
    // The API server names the user, verb and Service it refused; the fix is a rule of the Role.
    const svc = serviceOfProxyUrl(forbidden.url);
    const denied = parseForbidden(forbidden.body ?? "") ?? {
      verb: "get",
      resource: "services/proxy",
      group: "",
      ...(svc ? { namespace: svc.namespace, name: proxyName(svc) } : {}),
    };
    return { report, refusal: new KubeForbiddenError(`reach ${TARGETS[forbidden.target].label} for the ${forbidden.checks.join(", ")} check(s)`, denied) };
  }
  return {
    report,
    refusal: new GateUnreachableError(`the configured gates cannot look at what they judge: ${problems}; nothing was changed`, {
      hint:
        `${bad.map((p) => fixFor(p, sc)).join("; ")}. Fix it and run again, or pass --force to upgrade anyway (those gates then judge the new version only). ` +
        `sie-fleet preview --stack ${sc.open.name} --to <tag> shows the same check`,
      details: { probes: bad },
    }),
  };
}

function fixFor(p: ReachProbe, sc: StackContext): string {
  const svc = serviceOfProxyUrl(p.url);
  const where = svc ? `-n ${svc.namespace} ${svc.name}` : "";
  if (p.refusal?.reason === "no-service") {
    return p.target === "prometheus"
      ? `check monitoring.prometheus in stacks/Pulumi.${sc.open.name}.yaml names an existing Service (kubectl get svc ${where})`
      : `redeploy the release (sie-fleet up --stack ${sc.open.name})`;
  }
  if (p.refusal?.reason === "no-endpoints")
    return `see why no ${p.target} pod is Ready: kubectl get endpoints ${where}; kubectl get pods -n ${svc?.namespace ?? sc.names.namespace}`;
  if (p.refusal) return `check ${p.target} pods and the API server's egress: kubectl get --raw '${new URL(p.url).pathname}'`;
  return p.target === "prometheus"
    ? "start Prometheus, or fix rollout.gates.prometheusUrl / SIE_FLEET_PROMETHEUS_URL"
    : `fix SIE_FLEET_${p.target.toUpperCase()}_URL or unset it`;
}
