// parseConfig: raw `sie-fleet:*` values → FleetConfig, or one ConfigError (core/errors.ts,
// exit 2 in the CLI) listing every problem with its key path and a hint. Pure (no @pulumi
// imports), so the CLI can check a stack file before running Pulumi at all.
import type { z } from "zod";
import { ConfigError, type ConfigProblem } from "../../core/errors.js";
import { CONFIG_NAMESPACE, CONFIG_SECTIONS, type ConfigSection } from "./configKeys.js";
import { checkChart, checkCluster, checkNames, checkPoolNames, checkPoolSet, checkRollout, checkValuesOverlap, resolvePool } from "./configRules.js";
import type { IssuePath, Report } from "./configReport.js";
import { PLATFORMS, clusterSchemas, poolSchema, sectionSchemas, type EksClusterConfig, type Platform } from "./configSchema.js";
import { hasWorkers, type FleetConfig, type ResolvedPool } from "./configTypes.js";
import { checkKarpenter } from "./karpenterRules.js";
import { checkModelCache } from "../release/modelCache.js";
import { checkFallbackReplicas } from "../release/fallbackReplicas.js";
import { clusterKubernetesMinor, resolveKedaVersion } from "../release/kedaVersions.js";
import { resolveMonitoring } from "../release/prometheusTarget.js";

/** `["pools","l4","zones",0]` → `sie-fleet:pools.l4.zones[0]` (the syntax of `pulumi config set --path`). */
function formatPath(path: IssuePath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return `${CONFIG_NAMESPACE}:${out}`;
}

export interface ParseOptions {
  /**
   * The hfToken value came through Pulumi's secret handling (loadConfig). Without this, a plain-string
   * `hfToken` in a stack file is an error: it must be stored with `pulumi config set --secret`.
   */
  hfTokenIsSecret?: boolean;
}

function reporter(problems: ConfigProblem[]): Report {
  return (path, reason, hint) => problems.push({ key: formatPath(path), reason, ...(hint ? { hint } : {}) });
}

/** Validate raw config (keys with or without the `sie-fleet:` prefix; other namespaces are ignored). */
export function parseConfig(raw: Record<string, unknown>, opts: ParseOptions = {}): FleetConfig {
  const result = validateConfig(raw, opts);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}

export type ValidateResult = { ok: true; config: FleetConfig } | { ok: false; problems: ConfigProblem[] };

export function validateConfig(raw: Record<string, unknown>, opts: ParseOptions = {}): ValidateResult {
  const problems: ConfigProblem[] = [];
  const report = reporter(problems);
  const sections = collectSections(raw, report);

  const platform = parsePlatform(sections.platform, report);
  const cluster = platform
    ? parseSection(["cluster"], clusterSchemas[platform], sections.cluster ?? (platform === "gke" || platform === "eks" ? undefined : {}), report)
    : undefined;
  const release = parseSection(["release"], sectionSchemas.release, sections.release, report);
  const autoscaling = parseSection(["autoscaling"], sectionSchemas.autoscaling, sections.autoscaling, report);
  const kedaInput = parseSection(["keda"], sectionSchemas.keda, sections.keda, report);
  const monitoringInput = parseSection(["monitoring"], sectionSchemas.monitoring, sections.monitoring, report);
  const rolloutInput = parseSection(["rollout"], sectionSchemas.rollout, sections.rollout, report);
  const hasHfToken = checkHfToken(sections.hfToken, opts, report);

  // Pools parse one by one so that one broken pool does not hide the others' problems.
  const rawPools = sections.pools;
  const poolNames = isRecord(rawPools) ? Object.keys(rawPools) : [];
  const pools: Record<string, ResolvedPool> = {};
  let poolsComplete = isRecord(rawPools);
  if (rawPools === undefined) report(["pools"], "is required", "define pools under sie-fleet:pools, e.g. `l4: {gpu: l4, maxNodes: 2}`");
  else if (!isRecord(rawPools)) report(["pools"], "must be an object keyed by pool name");
  else {
    checkPoolNames(poolNames, report);
    for (const name of poolNames) {
      const parsed = parseSection(["pools", name], poolSchema, rawPools[name], report);
      const resolved = parsed && platform ? resolvePool(name, parsed, platform, cluster, report) : undefined;
      if (resolved) pools[name] = resolved;
      else poolsComplete = false;
    }
  }

  if (platform && cluster) checkCluster(platform, cluster, report);
  if (platform && cluster && poolsComplete) checkPoolSet(Object.values(pools), platform, cluster, report);
  if (platform === "eks" && cluster && poolsComplete) checkKarpenter(cluster as EksClusterConfig, Object.values(pools), report);
  if (release) {
    checkChart(release, report);
    checkNames(release, poolNames, report);
    // Over the pools that resolved, so a broken pool does not hide the others' disk problems.
    if (platform) checkModelCache(platform, Object.values(pools), release.values, report);
  }
  const keda = kedaInput && platform ? { ...kedaInput, version: resolveKedaVersion(kedaInput, clusterKubernetesMinor(platform, cluster), report) } : undefined;
  const resolved =
    autoscaling && monitoringInput && rolloutInput
      ? resolveMonitoring({ monitoring: monitoringInput, autoscaling, gatesUrl: rolloutInput.gates.prometheusUrl }, report)
      : undefined;
  const monitoring = resolved?.monitoring;
  // The gates read rollout.gates.prometheusUrl: it becomes the resolved Prometheus's outside address.
  let rollout = rolloutInput;
  if (rolloutInput && resolved) {
    const { prometheusUrl: _configured, ...gates } = rolloutInput.gates;
    rollout = { ...rolloutInput, gates: { ...gates, ...(resolved.gatesUrl ? { prometheusUrl: resolved.gatesUrl } : {}) } };
  }
  if (autoscaling && poolsComplete) checkFallbackReplicas(autoscaling, keda, Object.values(pools), report);
  if (rollout && isRecord(rawPools)) {
    // Pools that failed to parse count as having workers, so their own errors are not doubled here.
    const workersByName = Object.fromEntries(poolNames.map((n) => [n, { workers: pools[n] ? hasWorkers(pools[n]) : true }]));
    checkRollout(rollout, workersByName, report);
  }

  if (problems.length > 0 || !platform || !cluster || !release || !autoscaling || !keda || !monitoring || !rollout) {
    return { ok: false, problems };
  }
  const config = { platform, cluster, pools, release, autoscaling, keda, monitoring, rollout, hasHfToken } as FleetConfig;
  checkValuesOverlap(config, report);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strip the namespace; report keys in our namespace that are not sections (typos). */
function collectSections(raw: Record<string, unknown>, report: Report): Partial<Record<ConfigSection, unknown>> {
  const out: Partial<Record<ConfigSection, unknown>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const colon = key.indexOf(":");
    if (colon >= 0 && key.slice(0, colon) !== CONFIG_NAMESPACE) continue; // gcp:project, aws:region, …
    const name = colon >= 0 ? key.slice(colon + 1) : key;
    if ((CONFIG_SECTIONS as readonly string[]).includes(name)) out[name as ConfigSection] = value;
    else
      report([name], "unknown config key", `${suggest(name, CONFIG_SECTIONS)}valid keys: ${CONFIG_SECTIONS.map((s) => `${CONFIG_NAMESPACE}:${s}`).join(", ")}`);
  }
  return out;
}

function parsePlatform(value: unknown, report: Report): Platform | undefined {
  if (value === undefined) {
    report(["platform"], "is required", `pulumi config set sie-fleet:platform <${PLATFORMS.join("|")}>`);
    return undefined;
  }
  if (typeof value === "string" && (PLATFORMS as readonly string[]).includes(value)) return value as Platform;
  report(
    ["platform"],
    `unknown platform ${JSON.stringify(value)}; expected one of ${PLATFORMS.join(", ")}`,
    `pulumi config set sie-fleet:platform <${PLATFORMS.join("|")}>`,
  );
  return undefined;
}

function checkHfToken(value: unknown, opts: ParseOptions, report: Report): boolean {
  if (value === undefined) return false;
  const isSecureEnvelope = isRecord(value) && typeof value.secure === "string" && value.secure.length > 0;
  if (isSecureEnvelope) return true;
  if (typeof value === "string" && opts.hfTokenIsSecret) return value.length > 0;
  report(["hfToken"], "must be stored as a secret", "pulumi config set --secret sie-fleet:hfToken <token>");
  return false;
}

function parseSection<S extends z.ZodType>(path: IssuePath, schema: S, value: unknown, report: Report): z.output<S> | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const at = [...path, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(schema, issue.path);
      for (const key of issue.keys) {
        report([...at, key], "unknown key", `${suggest(key, allowed)}allowed keys here: ${allowed.join(", ")}`);
      }
      continue;
    }
    const { message, hint } = describe(issue, at);
    report(at, message, hint);
  }
  return undefined;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : String(v);
}

function describe(issue: z.core.$ZodIssue, at: IssuePath): { message: string; hint?: string } {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return { message: "is required", hint: `pulumi config set --path ${formatPath(at)} <value>` };
      if (issue.expected === "int") return { message: `must be a whole number (got ${show(input)})` };
      return { message: `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`} (got ${show(input)})` };
    case "too_small":
      if (issue.origin === "number") return { message: `must be ${issue.inclusive ? "≥" : ">"} ${String(issue.minimum)} (got ${show(input)})` };
      if (issue.origin === "array") return { message: `needs at least ${String(issue.minimum)} item(s)` };
      return { message: issue.message };
    case "too_big":
      if (issue.origin === "number") return { message: `must be ${issue.inclusive ? "≤" : "<"} ${String(issue.maximum)} (got ${show(input)})` };
      return { message: issue.message };
    case "invalid_value":
      return { message: `unknown value ${show(input)}; expected one of ${issue.values.map((v) => String(v)).join(", ")}` };
    case "invalid_format":
      return { message: issue.format === "regex" ? `${issue.message} (got ${show(input)})` : `must be a valid ${issue.format} (got ${show(input)})` };
    default:
      return { message: issue.message };
  }
}

/** Keys an object schema accepts at `path` (through optional/default/record/array wrappers). */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    for (;;) {
      const def = (s as { def?: { type: string; innerType?: unknown; in?: unknown } }).def;
      if (def && (def.type === "optional" || def.type === "default" || def.type === "prefault" || def.type === "nullable") && def.innerType) s = def.innerType;
      else if (def && def.type === "pipe" && def.in) s = def.in;
      else return;
    }
  };
  for (const seg of path) {
    unwrap();
    const def = (s as { def: { type: string; shape?: Record<string, unknown>; valueType?: unknown; element?: unknown } }).def;
    if (def.type === "object" && def.shape) s = def.shape[String(seg)];
    else if (def.type === "record") s = def.valueType;
    else if (def.type === "array") s = def.element;
    else return [];
  }
  unwrap();
  const def = (s as { def?: { type: string; shape?: Record<string, unknown> } } | undefined)?.def;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** "did you mean …? " for a near-miss (case or one/two typos). */
function suggest(key: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestScore = 3;
  for (const c of candidates) {
    const d = c.toLowerCase() === key.toLowerCase() ? 0 : distance(c.toLowerCase(), key.toLowerCase());
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best ? `did you mean "${best}"? ` : "";
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
