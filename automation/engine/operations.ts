// The Pulumi operations the actions need, on an opened stack: each returns plain data (steps,
// summaries, config maps) so actions never touch the automation SDK's types directly.
import type { EngineEvent, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import type { PreviewStep } from "../types.js";
import type { OpenStack } from "./stack.js";

export interface OperationOptions {
  /** Human progress lines (resource steps), for reporters. */
  onStep?: (line: string) => void;
  /** Raw CLI output, for the debug log only. */
  onOutput?: (text: string) => void;
  signal?: AbortSignal;
  message?: string;
}

export interface PreviewOutcome {
  steps: PreviewStep[];
  changeSummary: Record<string, number>;
}

function shortName(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

function stepListener(steps: PreviewStep[] | undefined, opts: OperationOptions) {
  return (e: EngineEvent) => {
    const pre = e.resourcePreEvent?.metadata;
    if (pre) {
      steps?.push({
        op: pre.op,
        urn: pre.urn,
        type: pre.type,
        ...(pre.keys ? { keys: pre.keys } : {}),
        ...(pre.detailedDiff ? { detailedDiff: pre.detailedDiff as PreviewStep["detailedDiff"] } : {}),
      });
      if (pre.op !== "same") opts.onStep?.(`${pre.op} ${pre.type} ${shortName(pre.urn)}`);
    }
    const failed = e.resOpFailedEvent?.metadata;
    if (failed) opts.onStep?.(`failed ${failed.op} ${failed.type} ${shortName(failed.urn)}`);
    const diag = e.diagnosticEvent;
    if (diag && diag.severity === "error" && !diag.ephemeral) opts.onStep?.(`error: ${diag.message.trim()}`);
  };
}

export async function previewStack(s: OpenStack, opts: OperationOptions = {}): Promise<PreviewOutcome> {
  const steps: PreviewStep[] = [];
  const res = await s.stack.preview({
    diff: true,
    onEvent: stepListener(steps, opts),
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.message ? { message: opts.message } : {}),
  });
  return { steps, changeSummary: res.changeSummary as Record<string, number> };
}

export interface UpOutcome {
  result: string;
  resourceChanges: Record<string, number>;
  outputs: Record<string, unknown>;
}

export async function upStack(s: OpenStack, opts: OperationOptions = {}): Promise<UpOutcome> {
  const res = await s.stack.up({
    onEvent: stepListener(undefined, opts),
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.message ? { message: opts.message } : {}),
  });
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res.outputs)) outputs[k] = v.secret ? "[secret]" : v.value;
  return { result: res.summary.result, resourceChanges: (res.summary.resourceChanges ?? {}) as Record<string, number>, outputs };
}

/**
 * Applies config recorded in stack history. Non-secret keys are set exactly (structured values
 * as objects); keys absent from the record are removed. Secret values are not in the recorded
 * history we read, so current secrets are kept, and any secret key the record has but the
 * stack lacks is reported back for a person to set.
 */
export async function applyRecordedConfig(
  s: OpenStack,
  recorded: Record<string, { value?: string; objectValue?: unknown; secret: boolean }>,
): Promise<{ missingSecrets: string[] }> {
  const current = await s.stack.getAllConfig();
  const stale = Object.keys(current).filter((k) => !(k in recorded) && !current[k]?.secret);
  if (stale.length > 0) await s.stack.removeAllConfig(stale);
  const plain: Record<string, { value?: string; objectValue?: unknown; secret: false }> = {};
  const missingSecrets: string[] = [];
  for (const [k, v] of Object.entries(recorded)) {
    if (v.secret) {
      if (!(k in current)) missingSecrets.push(k);
      continue;
    }
    const objectValue = v.objectValue ?? structured(v.value);
    // The CLI wants both: `value` as JSON text and `objectValue` to store it as an object.
    plain[k] = objectValue !== undefined ? { value: JSON.stringify(objectValue), objectValue, secret: false } : { value: v.value ?? "", secret: false };
  }
  // No secret goes through argv here: `set-all --json` only carries the non-secret keys.
  if (Object.keys(plain).length > 0) await s.stack.workspace.setAllConfigJson(s.name, JSON.stringify(plain));
  return { missingSecrets };
}

/** History records structured values as JSON text; they must go back as objects, not strings. */
function structured(value: string | undefined): unknown {
  if (value === undefined || !/^\s*[[{]/.test(value)) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

export async function setConfigPath(s: OpenStack, key: string, value: string): Promise<void> {
  await s.stack.setConfig(key, { value, secret: false }, true);
}

export async function stackHistory(s: OpenStack, pageSize = 50): Promise<UpdateSummary[]> {
  return s.stack.history(pageSize, 1, false);
}
