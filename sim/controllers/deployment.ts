import type { Json, KObject } from "../store.js";
import { safeHash, stableStringify } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";
import { intOrPercent, isoNow, ownedBy, ownerRef } from "./workload.js";

const REVISION = "deployment.kubernetes.io/revision";
const HASH_LABEL = "pod-template-hash";

/** The template as the Deployment owns it, without the hash label the controller adds to its ReplicaSets. */
function templateKey(template: Json): string {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return stableStringify(t);
}

export function podTemplateHash(template: Json): string {
  return safeHash(templateKey(template), 10);
}

function rev(rs: KObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0);
}

/**
 * Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`),
 * RollingUpdate within maxSurge/maxUnavailable (or Recreate), nothing new while `spec.paused`,
 * and status/conditions with the meanings `kubectl rollout status` and Pulumi's await read.
 */
export class DeploymentController {
  /** Last time each Deployment made progress, in ms (condition timestamps only have seconds). */
  private readonly lastProgress = new Map<string, number>();

  constructor(private readonly ctx: SimContext) {}

  reconcile(): void {
    for (const d of this.ctx.store.list(T.deployments)) {
      if (d.metadata.deletionTimestamp) continue;
      this.reconcileOne(d);
    }
  }

  private setReplicas(rs: KObject, n: number): KObject {
    if ((rs.spec?.replicas ?? 1) === n) return rs;
    const before = rs.spec?.replicas ?? 1;
    const next = structuredClone(rs);
    next.spec.replicas = n;
    next.metadata.resourceVersion = "";
    const owner = this.ctx.store.findByUid(rs.metadata.ownerReferences?.[0]?.uid ?? "");
    if (owner) {
      this.ctx.events.record(owner, "Normal", "ScalingReplicaSet", `Scaled ${n > before ? "up" : "down"} replica set ${rs.metadata.name} from ${before} to ${n}`);
    }
    return this.ctx.store.update(T.replicasets, next);
  }

  private reconcileOne(d: KObject): void {
    const { store } = this.ctx;
    const ns = d.metadata.namespace!;
    const replicas: number = d.spec?.replicas ?? 1;
    const paused = d.spec?.paused === true;
    let sets = ownedBy(store.list(T.replicasets, ns), d);
    const key = templateKey(d.spec.template);
    let newRS = sets.find((rs) => templateKey(rs.spec.template) === key);
    const maxRev = sets.reduce((m, rs) => Math.max(m, rev(rs)), 0);
    let progressed = false;

    if (!newRS && !paused) {
      const hash = podTemplateHash(d.spec.template);
      const template = structuredClone(d.spec.template);
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
      const selector = structuredClone(d.spec.selector ?? {});
      selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
      const noOldPods = sets.every((rs) => (rs.spec?.replicas ?? 0) === 0);
      newRS = store.create(T.replicasets, {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(template.metadata.labels ?? {}) },
          annotations: { [REVISION]: String(maxRev + 1), "deployment.kubernetes.io/desired-replicas": String(replicas) },
          ownerReferences: [ownerRef(d)],
        } as unknown as KObject["metadata"],
        spec: { replicas: noOldPods && d.spec?.strategy?.type !== "Recreate" ? replicas : 0, selector, template, minReadySeconds: d.spec?.minReadySeconds ?? 0 },
      });
      this.ctx.events.record(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${newRS.metadata.name} from 0 to ${newRS.spec.replicas}`);
      sets = [...sets, newRS];
      progressed = true;
    } else if (newRS && !paused && rev(newRS) < maxRev) {
      // Rolling back to an older template makes its ReplicaSet the newest revision again.
      const next = structuredClone(newRS);
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION]: String(maxRev + 1) };
      next.metadata.resourceVersion = "";
      newRS = store.update(T.replicasets, next);
      sets = sets.map((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs));
    }
    const old = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid).sort((a, b) => rev(a) - rev(b));

    const maxSurgeRaw = d.spec?.strategy?.rollingUpdate?.maxSurge;
    const maxUnavailRaw = d.spec?.strategy?.rollingUpdate?.maxUnavailable;
    const maxSurge = intOrPercent(maxSurgeRaw, replicas, true, "25%");
    let maxUnavailable = intOrPercent(maxUnavailRaw, replicas, false, "25%");
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    if (maxUnavailable > replicas) maxUnavailable = replicas;

    if (paused) {
      // A paused Deployment still follows `replicas` when no rollout is in flight.
      const active = old.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
      if (newRS && active.length === 0) this.setReplicas(newRS, replicas);
      else if (!newRS && active.length === 1) this.setReplicas(active[0]!, replicas);
    } else if (newRS && d.spec?.strategy?.type === "Recreate") {
      for (const rs of old) if ((rs.spec?.replicas ?? 0) > 0) (this.setReplicas(rs, 0), (progressed = true));
      const oldPods = old.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
      const oldPodsLeft = store.list(T.pods, ns).some((p) => old.some((rs) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid));
      if (oldPods === 0 && !oldPodsLeft && (newRS.spec?.replicas ?? 0) !== replicas) {
        newRS = this.setReplicas(newRS, replicas);
        progressed = true;
      }
    } else if (newRS) {
      const specSum = () => sets.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
      const refresh = (rs: KObject) => (sets = sets.map((x) => (x.metadata.uid === rs.metadata.uid ? rs : x)));
      // Scale the new ReplicaSet up within maxSurge.
      const newCount: number = newRS.spec?.replicas ?? 0;
      if (newCount > replicas) {
        newRS = this.setReplicas(newRS, replicas);
        refresh(newRS);
        progressed = true;
      } else if (newCount < replicas) {
        const room = replicas + maxSurge - specSum();
        if (room > 0) {
          newRS = this.setReplicas(newRS, newCount + Math.min(room, replicas - newCount));
          refresh(newRS);
          progressed = true;
        }
      }
      // Scale old ReplicaSets down while keeping replicas - maxUnavailable available.
      const minAvailable = replicas - maxUnavailable;
      const newUnavailable = (newRS.spec?.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
      let budget = specSum() - minAvailable - Math.max(0, newUnavailable);
      for (const rs of old) {
        if (budget <= 0) break;
        const unhealthy = (rs.spec?.replicas ?? 0) - (rs.status?.availableReplicas ?? 0);
        if (unhealthy <= 0) continue;
        const n = Math.min(unhealthy, budget);
        refresh(this.setReplicas(rs, (rs.spec?.replicas ?? 0) - n));
        budget -= n;
        progressed = true;
      }
      const available = sets.reduce((n, rs) => n + Math.min(rs.status?.availableReplicas ?? 0, rs.spec?.replicas ?? 0), 0);
      let down = available - minAvailable;
      for (const rs of old.map((o) => sets.find((s) => s.metadata.uid === o.metadata.uid)!)) {
        if (down <= 0) break;
        const cur: number = rs.spec?.replicas ?? 0;
        if (cur === 0) continue;
        const n = Math.min(cur, down);
        refresh(this.setReplicas(rs, cur - n));
        down -= n;
        progressed = true;
      }
    }
    this.writeStatus(d, newRS, sets, replicas, maxUnavailable, paused, progressed);
  }

  private writeStatus(d: KObject, newRS: KObject | undefined, sets: KObject[], replicas: number, maxUnavailable: number, paused: boolean, progressed: boolean): void {
    const { ctx } = this;
    const fresh = ctx.store.list(T.replicasets, d.metadata.namespace).filter((rs) => sets.some((s) => s.metadata.uid === rs.metadata.uid));
    const sum = (f: (rs: KObject) => number) => fresh.reduce((n, rs) => n + f(rs), 0);
    const nrs = newRS ? fresh.find((rs) => rs.metadata.uid === newRS.metadata.uid) : undefined;
    const status: Json = {
      observedGeneration: d.metadata.generation,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: nrs?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
    };
    status.unavailableReplicas = Math.max(0, replicas - status.availableReplicas);
    for (const k of ["readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"]) if (status[k] === 0) delete status[k];
    const prev: Json[] = d.status?.conditions ?? [];
    const now = isoNow(ctx);
    const mk = (type: string, st: string, reason: string, message: string, touch: boolean) => {
      const p = prev.find((c) => c.type === type);
      const same = p && p.status === st && p.reason === reason;
      return {
        type,
        status: st,
        lastUpdateTime: same && !touch ? p.lastUpdateTime : now,
        lastTransitionTime: p && p.status === st ? p.lastTransitionTime : now,
        reason,
        message,
      };
    };
    const availOk = (status.availableReplicas ?? 0) >= replicas - maxUnavailable;
    const available = availOk
      ? mk("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", false)
      : mk("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", false);
    const rsName = nrs?.metadata.name ?? "";
    const complete =
      nrs !== undefined &&
      (status.updatedReplicas ?? 0) === replicas &&
      (status.replicas ?? 0) === replicas &&
      (status.availableReplicas ?? 0) === replicas;
    const prevProg = prev.find((c) => c.type === "Progressing");
    // Progress = any change in the pod counts since the last write, as the real controller sees it.
    const counts = (s: Json) => [s?.replicas, s?.updatedReplicas, s?.readyReplicas, s?.availableReplicas].map((x) => x ?? 0).join("/");
    const moved = progressed || counts(status) !== counts(d.status);
    let progressing: Json;
    if (paused) {
      progressing = mk("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", false);
    } else if (complete) {
      progressing = mk("Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "${rsName}" has successfully progressed.`, false);
    } else {
      const deadlineMs = (d.spec?.progressDeadlineSeconds ?? 600) * ctx.timings.simSecondMs;
      const uid = d.metadata.uid;
      if (moved || !prevProg || prevProg.reason === "DeploymentPaused" || prevProg.reason === "NewReplicaSetAvailable") this.lastProgress.set(uid, ctx.now());
      const since = this.lastProgress.get(uid) ?? (Date.parse(prevProg?.lastUpdateTime ?? "") || ctx.now());
      if (!this.lastProgress.has(uid)) this.lastProgress.set(uid, since);
      if (prevProg?.reason === "ProgressDeadlineExceeded" && !moved) {
        progressing = prevProg;
      } else if (!moved && ctx.now() - since > deadlineMs) {
        progressing = mk("Progressing", "False", "ProgressDeadlineExceeded", `ReplicaSet "${rsName}" has timed out progressing.`, true);
      } else if (prevProg?.reason === "DeploymentPaused") {
        progressing = mk("Progressing", "True", "DeploymentResumed", "Deployment is resumed", true);
      } else {
        progressing = mk("Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${rsName}" is progressing.`, moved);
      }
    }
    status.conditions = [available, progressing];
    const annotations = { ...(d.metadata.annotations ?? {}) };
    const revision = nrs?.metadata.annotations?.[REVISION];
    let next: KObject = d;
    if (revision && annotations[REVISION] !== revision) {
      annotations[REVISION] = revision;
      next = ctx.store.update(T.deployments, { ...d, metadata: { ...d.metadata, annotations, resourceVersion: "" } }, "all");
    }
    if (stableStringify(status) !== stableStringify(next.status ?? {})) {
      ctx.store.update(T.deployments, { ...next, status, metadata: { ...next.metadata, resourceVersion: "" } }, "status");
    }
  }
}
