// Names and label values of the objects sie-fleet keeps in a cluster (its Lease and journal
// ConfigMaps). Stack names and run ids allow characters and lengths Kubernetes names and label
// values do not; those get a readable prefix and a hash, and the exact value goes in an annotation.
import { createHash } from "node:crypto";
import { FLEET_METADATA } from "../../core/defaults.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$/;

function hash(value: string, length: number): string {
  return createHash("sha256").update(value).digest("hex").slice(0, length);
}

/** `<prefix>-<value>` as an object name, or `<prefix>-<readable part>-<hash>` when value is not a DNS label. */
export function fleetObjectName(prefix: string, value: string): string {
  if (DNS_LABEL.test(value) && value.length <= 63) return `${prefix}-${value}`;
  const readable = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return `${prefix}-${readable ? `${readable}-` : ""}${hash(value, 10)}`;
}

/** `value` as a label value (at most 63 characters, alphanumeric at both ends), hashed if it is not one. */
export function labelValue(value: string): string {
  return LABEL_VALUE.test(value) && value.length <= 63 ? value : `h-${hash(value, 24)}`;
}

/** The labels every sie-fleet object of `stack` carries. */
export function stackLabels(stack: string): Record<string, string> {
  return { [FLEET_METADATA.managedBy]: "sie-fleet", [FLEET_METADATA.stack]: labelValue(stack) };
}

/** The selector matching every sie-fleet object of `stack`; callers still compare the exact stack annotation. */
export function stackSelector(stack: string): string {
  return Object.entries(stackLabels(stack))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
