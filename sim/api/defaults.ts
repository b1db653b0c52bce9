import type { Json, KObject } from "../store.js";
import { stableStringify } from "../store.js";
import { T, type ResourceType } from "../resources.js";
import { invalid } from "./errors.js";
import { fromLabelSelector, matchesSelector } from "./selectors.js";

/**
 * The apiserver's defaulting for the fields callers read back (so `kubectl rollout status`,
 * Pulumi and the upgrade engine see what a real cluster would return), and the validation
 * errors (422) that catch malformed workloads early.
 */
export function applyDefaults(t: ResourceType, o: KObject): void {
  const spec = o.spec;
  if (t === T.deployments && spec) {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= { type: "RollingUpdate" };
    spec.strategy.type ??= "RollingUpdate";
    if (spec.strategy.type === "RollingUpdate") {
      spec.strategy.rollingUpdate ??= {};
      spec.strategy.rollingUpdate.maxSurge ??= "25%";
      spec.strategy.rollingUpdate.maxUnavailable ??= "25%";
    }
    defaultPodSpec(spec.template?.spec);
  }
  if (t === T.statefulsets && spec) {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.podManagementPolicy ??= "OrderedReady";
    spec.updateStrategy ??= { type: "RollingUpdate" };
    spec.updateStrategy.type ??= "RollingUpdate";
    if (spec.updateStrategy.type === "RollingUpdate") {
      spec.updateStrategy.rollingUpdate ??= {};
      spec.updateStrategy.rollingUpdate.partition ??= 0;
    }
    defaultPodSpec(spec.template?.spec);
  }
  if (t === T.replicasets && spec) spec.replicas ??= 1;
  if (t === T.pods) defaultPodSpec(spec);
  if (t === T.namespaces) o.status = { phase: o.metadata.deletionTimestamp ? "Terminating" : "Active", ...(o.status ?? {}) };
  if (t === T.services && spec) spec.type ??= "ClusterIP";
}

function defaultPodSpec(spec: Json): void {
  if (!spec) return;
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validate(t: ResourceType, o: KObject, old?: KObject): void {
  const name = o.metadata?.name ?? "";
  const causes: { field: string; message: string }[] = [];
  if (!name && !o.metadata?.generateName) causes.push({ field: "metadata.name", message: "Required value: name or generateName is required" });
  else if (name && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    causes.push({ field: "metadata.name", message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  }
  for (const [k, v] of Object.entries(o.metadata?.labels ?? {})) {
    if (typeof v !== "string") causes.push({ field: `metadata.labels`, message: `Invalid value: ${k}: label values must be strings` });
  }
  if (t === T.deployments || t === T.statefulsets || t === T.replicasets) {
    const spec = o.spec ?? {};
    const sel = spec.selector;
    if (!sel || (!sel.matchLabels && !sel.matchExpressions)) causes.push({ field: "spec.selector", message: "Required value" });
    else if (!matchesSelector(fromLabelSelector(sel), spec.template?.metadata?.labels ?? {})) {
      causes.push({ field: "spec.template.metadata.labels", message: "Invalid value: `selector` does not match template `labels`" });
    }
    const containers: Json[] = spec.template?.spec?.containers ?? [];
    if (containers.length === 0) causes.push({ field: "spec.template.spec.containers", message: "Required value" });
    containers.forEach((c, i) => {
      if (!c.name) causes.push({ field: `spec.template.spec.containers[${i}].name`, message: "Required value" });
      if (!c.image) causes.push({ field: `spec.template.spec.containers[${i}].image`, message: "Required value" });
    });
    if (typeof spec.replicas === "number" && spec.replicas < 0) causes.push({ field: "spec.replicas", message: "Invalid value: must be greater than or equal to 0" });
    if (old && stableStringify(old.spec?.selector) !== stableStringify(spec.selector)) {
      causes.push({ field: "spec.selector", message: "Invalid value: field is immutable" });
    }
    if (t === T.statefulsets && old && old.spec?.serviceName !== spec.serviceName) {
      causes.push({ field: "spec", message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" });
    }
  }
  if (t === T.pods) {
    const containers: Json[] = o.spec?.containers ?? [];
    if (containers.length === 0) causes.push({ field: "spec.containers", message: "Required value" });
  }
  if (t === T.scaledobjects && !o.spec?.scaleTargetRef?.name) {
    causes.push({ field: "spec.scaleTargetRef.name", message: "Required value" });
  }
  if (causes.length > 0) throw invalid(t.kind, name, causes);
}
