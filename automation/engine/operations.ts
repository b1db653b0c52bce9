// The Pulumi operations the actions need, on an opened stack: each returns plain data (steps,
// summaries, config maps) so actions never touch the automation SDK's types directly.
import type { EngineEvent, LocalWorkspace, Stack, UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { StackError } from "../../core/errors.js";
import { redactText } from "../../core/redact.js";
import type { PreviewStep } from "../../core/types.js";
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

const execFileAsync = promisify(execFile);

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
 * `pulumi up` for a change whose result is judged elsewhere (the upgrade's waves, the revert's
 * checks): the SDK's up() reads the outputs (two CLI calls) and the last history entry (one more)
 * once the update is done, about two seconds nobody here uses. A failed update still throws.
 */
export async function applyStack(s: OpenStack, opts: OperationOptions = {}): Promise<void> {
  const lean: Stack = Object.create(s.stack, {
    outputs: { value: async () => ({}) },
    info: { value: async () => undefined },
  });
  await s.stack.up.call(lean, {
    onEvent: stepListener(undefined, opts),
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.message ? { message: opts.message } : {}),
  });
}

/** One Pulumi CLI call on the stack, with the environment the SDK gives every other one; stdout. */
async function pulumiCall(s: OpenStack, args: string[]): Promise<string> {
  const ws = s.stack.workspace as LocalWorkspace;
  const command = ws.pulumiCommand.command;
  const env: NodeJS.ProcessEnv = { ...process.env, ...ws.envVars, PULUMI_AUTOMATION_API: "true" };
  // Its bundled plugins first, as the SDK does.
  if (path.isAbsolute(command)) env.PATH = `${path.dirname(command)}${path.delimiter}${env.PATH ?? ""}`;
  try {
    const { stdout } = await execFileAsync(command, [...args, "--stack", s.name, "--non-interactive"], {
      cwd: s.projectDir,
      env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new StackError("pulumi-failed", `pulumi ${args.join(" ")} failed: ${redactText((e.stderr ?? e.message).trim(), s.secrets)}`, { cause: err });
  }
}

/**
 * The stack outputs' values in one CLI call (the SDK's outputs() makes two, to also say which are
 * secret; callers here know which of theirs are). Secret ones read "[secret]" unless `showSecrets`:
 * decrypting costs a key derivation, a few tenths of a second, so only callers that need a
 * secret's value ask for it.
 */
export async function stackOutputValues(s: OpenStack, opts: { showSecrets: boolean }): Promise<Record<string, { value: unknown }>> {
  const args = ["stack", "output", "--json", ...(opts.showSecrets ? ["--show-secrets"] : [])];
  const plain = JSON.parse(await pulumiCall(s, args)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(plain).map(([k, value]) => [k, { value }]));
}

/** How many operations an interrupted update left pending. Read without decrypting secrets, which this does not need. */
export async function pendingOperationCount(s: OpenStack): Promise<number> {
  const exported = JSON.parse(await pulumiCall(s, ["stack", "export"])) as { deployment?: { pending_operations?: unknown[] } };
  return exported.deployment?.pending_operations?.length ?? 0;
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
