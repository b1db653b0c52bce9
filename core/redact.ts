/**
 * Secret redaction applied to everything we write: journal entries, progress events, --json
 * output, error details. Two rules: known secret values are replaced wherever they appear, and
 * keys that name a secret (token, passphrase, password, kubeconfig, …) lose their value whatever it is.
 */
import yaml from "js-yaml";
import { REDACTED, SECRET_ENV_VARS, SECRET_KEY_PATTERN } from "./defaults.js";

/**
 * Secret values shorter than this are not searched for inside strings: replacing every "ab" in a
 * journal would destroy it and reveal the secret's length anyway. Keys are still redacted.
 */
const MIN_SECRET_LENGTH = 4;

export interface RedactOptions {
  /** Key names to redact in addition to SECRET_KEY_PATTERN. */
  extraKeyPattern?: RegExp;
}

/**
 * A deep copy of `value` with secrets removed. Handles Errors (message and stack), cycles, and
 * Pulumi config entries shaped `{value, secret: true}`.
 */
export function redact<T>(value: T, secrets: readonly string[] = [], opts: RedactOptions = {}): T {
  const needles = usableSecrets(secrets);
  const seen = new WeakMap<object, unknown>();

  const scrubString = (s: string): string => {
    let out = s;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };
  const keyIsSecret = (k: string): boolean => SECRET_KEY_PATTERN.test(k) || (opts.extraKeyPattern?.test(k) ?? false);

  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return scrubString(v);
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return "[Circular]";
    if (v instanceof Date) return v.toISOString();
    if (v instanceof Error) {
      const out: Record<string, unknown> = { name: v.name, message: scrubString(v.message) };
      seen.set(v, out);
      if (v.stack) out["stack"] = scrubString(v.stack);
      for (const [k, inner] of Object.entries(v)) out[k] = keyIsSecret(k) ? REDACTED : walk(inner);
      if (v.cause !== undefined) out["cause"] = walk(v.cause);
      return out;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    const isSecretConfigValue = (v as { secret?: unknown }).secret === true;
    for (const [k, inner] of Object.entries(v)) {
      if (inner === undefined) continue;
      if (keyIsSecret(k) && inner !== null && typeof inner !== "boolean") out[k] = REDACTED;
      else if (isSecretConfigValue && (k === "value" || k === "objectValue")) out[k] = REDACTED;
      else out[k] = walk(inner);
    }
    return out;
  };

  return walk(value) as T;
}

/** A string with known secret values replaced; for free text such as log lines or CLI output. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const n of usableSecrets(secrets)) if (out.includes(n)) out = out.split(n).join(REDACTED);
  return out;
}

/** Secret values found in an environment (PULUMI_CONFIG_PASSPHRASE, HF_TOKEN, …), for redact(). */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const name of SECRET_ENV_VARS) {
    const v = env[name];
    if (v) out.push(v);
  }
  return out;
}

function usableSecrets(secrets: readonly string[]): string[] {
  // Longest first, so a secret containing another is replaced whole.
  return [...new Set(secrets.filter((s) => typeof s === "string" && s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
}

/**
 * The secrets plus their base64 forms: Kubernetes Secrets, kubeconfigs and HTTP auth headers carry
 * values base64-encoded, and a bundle or log must not leak them that way either.
 */
export function withEncodedSecrets(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of usableSecrets(secrets)) {
    out.add(s);
    out.add(Buffer.from(s, "utf8").toString("base64"));
    out.add(Buffer.from(s, "utf8").toString("base64url"));
  }
  return [...out];
}

/**
 * The credentials a kubeconfig carries (client keys and certificates, as stored and decoded,
 * tokens, passwords) and the whole text: each is a secret on its own, a log may show one without
 * the others. Text that is not a kubeconfig yields only itself.
 */
export function kubeconfigSecrets(text: string): string[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    return [text];
  }
  const users = (doc as { users?: { user?: Record<string, unknown> }[] } | undefined)?.users ?? [];
  const out = [text];
  for (const { user = {} } of Array.isArray(users) ? users : []) {
    for (const k of ["client-certificate-data", "client-key-data"]) {
      const v = user[k];
      if (typeof v === "string") out.push(v, Buffer.from(v, "base64").toString("utf8"));
    }
    for (const k of ["token", "password"]) if (typeof user[k] === "string") out.push(user[k] as string);
  }
  return out;
}
