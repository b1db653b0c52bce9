// A real-engine fixture: a scratch copy of the project in a temp dir, its own file backend and
// state dir, and a simulator on random loopback ports. Everything is removed in cleanup().
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeScratchProject } from "../../automation/engine/scratchProject.js";
import { ensurePulumi } from "../../automation/engine/pulumiCli.js";
import { openStack, type OpenStack } from "../../automation/engine/stack.js";
import { PROJECT_DIR_ENV } from "../../automation/actions/target.js";
import type { ActionContext, ProgressEvent } from "../../automation/types.js";
import { spawnSimulator, type SpawnedSimulator } from "../../sim/index.js";
import { afterAll, beforeAll } from "vitest";
import { upStack } from "../../automation/engine/operations.js";

/** The Pulumi CLI may need a first build from Go modules (~10 min cold on 2 cores). */
export const CLI_BUILD_TIMEOUT_MS = 30 * 60_000;
export const ENGINE_TEST_TIMEOUT_MS = 10 * 60_000;

export interface EngineFixture {
  dir: string;
  stateDir: string;
  sim: SpawnedSimulator;
  ctx: ActionContext;
  events: ProgressEvent[];
  open(create?: boolean): Promise<OpenStack>;
  configFile: string;
  cleanup(): Promise<void>;
}

export async function ensureCli(): Promise<void> {
  await ensurePulumi({ onProgress: (l) => process.stderr.write(`${l}\n`) });
}

export async function engineFixture(opts: { stackFile?: string; simStartTimeoutMs?: number } = {}): Promise<EngineFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-engine-"));
  makeScratchProject(dir, opts.stackFile ? { stacks: [], stackFiles: { local: opts.stackFile } } : { stacks: ["local"] });
  const stateDir = path.join(dir, ".sie-fleet");
  const sim = await spawnSimulator({ stateDir: path.join(stateDir, "sim"), ...(opts.simStartTimeoutMs ? { startTimeoutMs: opts.simStartTimeoutMs } : {}) });
  const events: ProgressEvent[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, [PROJECT_DIR_ENV]: dir, SIE_FLEET_SIM_DIR: path.join(stateDir, "sim") };
  delete env.PULUMI_BACKEND_URL;
  delete env.PULUMI_CONFIG_PASSPHRASE;
  delete env.PULUMI_HOME;
  const ctx: ActionContext = {
    stateDir,
    reporter: { emit: (e) => events.push(e) },
    secrets: [],
    yes: true,
    nonInteractive: true,
    verbose: false,
    env,
    cwd: dir,
  };
  return {
    dir,
    stateDir,
    sim,
    ctx,
    events,
    configFile: path.join(dir, "stacks", "Pulumi.local.yaml"),
    open: (create = false) => openStack({ stack: "local", projectDir: dir, stateDir, env }, { create }),
    async cleanup() {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json().catch(() => undefined), headers: r.headers };
}

/**
 * Registers beforeAll/afterAll for a test file: the CLI ready, a fixture, and (by default) the
 * local stack deployed. Returns a getter, since the fixture exists only once beforeAll ran.
 */
export function useEngineFixture(opts: { deploy?: boolean } = {}): () => EngineFixture {
  let fx: EngineFixture | undefined;
  beforeAll(async () => {
    await ensureCli();
    fx = await engineFixture();
    if (opts.deploy !== false) await upStack(await fx.open(true));
  }, CLI_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await fx?.cleanup();
  });
  return () => {
    if (!fx) throw new Error("engine fixture not ready: beforeAll failed");
    return fx;
  };
}

/** `<object>=<image>` for every StatefulSet and Deployment in the release namespace, sorted. */
export async function workloadImages(fx: EngineFixture, namespace = "sie"): Promise<string[]> {
  const list = async (p: string) => ((await (await fetch(`${fx.sim.api}${p}`)).json()) as { items: { metadata: { name: string }; spec: { template: { spec: { containers: { image: string }[] } } } }[] }).items;
  const all = [...(await list(`/apis/apps/v1/namespaces/${namespace}/statefulsets`)), ...(await list(`/apis/apps/v1/namespaces/${namespace}/deployments`))];
  return all.map((o) => `${o.metadata.name}=${o.spec.template.spec.containers[0]?.image}`).sort();
}
