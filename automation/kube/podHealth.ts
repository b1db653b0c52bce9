/**
 * Fail-fast pod checks. Pure. A pod of the new revision in CrashLoopBackOff or an image-pull
 * error will not heal by waiting, so one sighting fails the wave instead of burning the rollout
 * timeout. A pod still starting (startup probe not passed) or unscheduled fails only after the
 * `notReadyAfterMs` cap: slow model loading looks the same for a while, and the kubelet enforces
 * the startup budget itself by restarting the container. A pod whose containers have all started
 * but which is not Ready is judged by its readiness probe, which says how long "not Ready yet" may
 * last; the moment it entered that state is not in its status, so the caller observes it.
 */
import type { V1ContainerStatus, V1Pod, V1Probe } from "@kubernetes/client-node";
import { FAIL_FAST_WAITING_REASONS } from "../../core/defaults.js";
import type { PodEvidence } from "../../core/types.js";

export interface PodCheckOptions {
  now: number;
  /** The cap: Running-but-not-Ready (Ready condition's last transition) or unschedulable for longer than this fails. */
  notReadyAfterMs: number;
  /** Waiting reasons that fail on first sight. */
  failFastReasons?: readonly string[];
  /**
   * When each pod (by metadata.uid) was first seen Running with all containers started and not
   * Ready (`trackStartedNotReady`). Such a pod fails once that lasted past its readiness window,
   * capped by notReadyAfterMs. Without an entry only notReadyAfterMs applies.
   */
  startedNotReadySince?: ReadonlyMap<string, number>;
}

/** Kubernetes' values for unset probe fields. */
const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 3 } as const;

/** Evidence if the pod is failing, undefined if it is fine or may still become fine. */
export function checkPod(pod: V1Pod, opts: PodCheckOptions): PodEvidence | undefined {
  const reasons = opts.failFastReasons ?? FAIL_FAST_WAITING_REASONS;
  const name = pod.metadata?.name ?? "?";
  const revision = podRevision(pod);
  const statuses: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];

  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && reasons.includes(waiting.reason)) {
      return evidence(name, waiting.reason, cs, pod, waiting.message ?? lastTerminationMessage(cs), revision);
    }
  }

  if (pod.status?.phase === "Failed") {
    const cs = statuses[0];
    return evidence(name, pod.status.reason ?? "Failed", cs, pod, pod.status.message, revision);
  }

  const conditions = pod.status?.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    const since = toMs(scheduled.lastTransitionTime) ?? toMs(pod.metadata?.creationTimestamp);
    if (since !== undefined && opts.now - since > opts.notReadyAfterMs) {
      return evidence(
        name,
        scheduled.reason ?? "Unschedulable",
        statuses[0],
        pod,
        `not scheduled for ${fmtSeconds(opts.now - since)}: ${scheduled.message ?? ""}`.trim(),
        revision,
      );
    }
    return undefined;
  }

  if (pod.status?.phase === "Running") {
    const ready = conditions.find((c) => c.type === "Ready");
    if (ready?.status !== "True") {
      const seen = pod.metadata?.uid !== undefined ? opts.startedNotReadySince?.get(pod.metadata.uid) : undefined;
      if (seen !== undefined && allStarted(pod)) {
        const probeMs = readinessWindowMs(pod);
        const windowMs = Math.min(probeMs, opts.notReadyAfterMs);
        if (opts.now - seen > windowMs) {
          const capped = probeMs > windowMs ? `, capped at ${fmtSeconds(windowMs)}` : "";
          const message = `started but not Ready for ${fmtSeconds(opts.now - seen)} (readiness probe allows ${fmtSeconds(probeMs)}${capped})`;
          return evidence(name, "NotReady", statuses[0], pod, message, revision);
        }
      }
      const started = statuses.map((cs) => toMs(cs.state?.running?.startedAt)).filter((t): t is number => t !== undefined);
      const since = toMs(ready?.lastTransitionTime) ?? (started.length > 0 ? Math.max(...started) : undefined) ?? toMs(pod.status?.startTime);
      if (since !== undefined && opts.now - since > opts.notReadyAfterMs) {
        return evidence(name, "NotReady", statuses[0], pod, `running but not Ready for ${fmtSeconds(opts.now - since)}`, revision);
      }
    }
  }
  return undefined;
}

/** First failing pod's evidence for each failing pod, in name order. */
export function checkPods(pods: readonly V1Pod[], opts: PodCheckOptions): PodEvidence[] {
  return pods
    .map((p) => checkPod(p, opts))
    .filter((e): e is PodEvidence => e !== undefined)
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

/**
 * How long a started pod may stay not Ready before its readiness probe has had its full say: the
 * initial delay, failureThreshold failed periods, and one period of slack because where a probe
 * run falls between our polls is unknown. The largest over the pod's containers, since the pod
 * is Ready only when all are.
 */
export function readinessWindowMs(pod: V1Pod): number {
  const containers = pod.spec?.containers ?? [];
  const seconds = containers.length > 0 ? containers.map((c) => probeWindowSeconds(c.readinessProbe)) : [probeWindowSeconds(undefined)];
  return Math.max(...seconds) * 1000;
}

function probeWindowSeconds(probe: V1Probe | undefined): number {
  const period = probe?.periodSeconds ?? PROBE_DEFAULTS.periodSeconds;
  const failures = probe?.failureThreshold ?? PROBE_DEFAULTS.failureThreshold;
  return (probe?.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds) + failures * period + period;
}

/** Running, every container past its startup probe (`started` unset counts as started), not Ready. */
export function isStartedNotReady(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && allStarted(pod) && !isPodReady(pod);
}

/**
 * The first time each current pod was seen started but not Ready, carried over from the previous
 * poll: pods that turned Ready or are gone drop out, pods newly in that state get `now`.
 */
export function trackStartedNotReady(pods: readonly V1Pod[], now: number, previous: ReadonlyMap<string, number>): Map<string, number> {
  const next = new Map<string, number>();
  for (const p of pods) {
    const uid = p.metadata?.uid;
    if (uid !== undefined && isStartedNotReady(p)) next.set(uid, previous.get(uid) ?? now);
  }
  return next;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** StatefulSet pods carry controller-revision-hash, Deployment pods pod-template-hash. */
export function podRevision(pod: V1Pod): string | undefined {
  const labels = pod.metadata?.labels ?? {};
  return labels["controller-revision-hash"] ?? labels["pod-template-hash"];
}

function allStarted(pod: V1Pod): boolean {
  return (pod.status?.containerStatuses ?? []).every((cs) => cs.started !== false);
}

function evidence(
  pod: string,
  reason: string,
  cs: V1ContainerStatus | undefined,
  p: V1Pod,
  message: string | undefined,
  revision: string | undefined,
): PodEvidence {
  const image = cs?.image ?? p.spec?.containers?.[0]?.image ?? "?";
  return {
    pod,
    reason,
    restartCount: cs?.restartCount ?? 0,
    image,
    ...(message ? { message } : {}),
    ...(revision ? { revision } : {}),
  };
}

function lastTerminationMessage(cs: V1ContainerStatus): string | undefined {
  const t = cs.lastState?.terminated;
  if (!t) return undefined;
  return [t.reason, t.exitCode !== undefined ? `exit code ${t.exitCode}` : undefined, t.message].filter(Boolean).join(", ") || undefined;
}

function toMs(t: Date | string | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function fmtSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
