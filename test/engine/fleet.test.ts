// Fleet runs on the real cluster: `upgrade --stacks staging,prod-us,prod-eu` through the real CLI,
// three stacks of one project sharing a file:// backend, each its own namespace and Helm release.
// prod-us is promoted from staging and prod-eu from prod-us with a soak of seconds, so a stack
// reached right after its source waits a few seconds. The fleet runs from prod-eu's checkout,
// which has the other two stack files as the repository would; one L4 worker per stack keeps
// three releases cheap.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../core/paths.js";
import { fleetDir } from "../../automation/journal/fleetJournal.js";
import { journalDir, readJournal } from "../../automation/journal/journal.js";
import { fleetCli } from "../support/fleetCli.js";
import {
  control,
  holdsLeft,
  SCENARIO_TIMEOUT_MS,
  type StackConfigMap,
  type StackFixture,
  useStackFixture,
  waitReleaseReady,
  workloadImages,
} from "../support/stackFixture.js";

const backend = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-backend-"));
const env = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "fleet-test-passphrase" };
/** Seconds: a fleet run's soak waits stay short. */
const SOAK_MINUTES = 0.1;
const STACKS = ["staging", "prod-us", "prod-eu"] as const;
const FLEET = STACKS.join(",");

const onePool = (from?: string) => (c: StackConfigMap) => {
  c["sie-fleet:pools"] = { l4: { ...c["sie-fleet:pools"].l4, maxNodes: 1, minReplicas: 1, maxReplicas: 1 } };
  c["sie-fleet:rollout"] = { ...c["sie-fleet:rollout"], waveOrder: [], ...(from ? { promotion: { from, minSoakMinutes: SOAK_MINUTES } } : {}) };
};
const fixtures = {
  staging: useStackFixture({ stack: "staging", env, config: onePool() }),
  "prod-us": useStackFixture({ stack: "prod-us", env, config: onePool("staging") }),
  "prod-eu": useStackFixture({ stack: "prod-eu", env, config: onePool("prod-us") }),
};

let fx: Record<(typeof STACKS)[number], StackFixture>;
/** Where every fleet command runs. */
let runner: StackFixture;
beforeAll(() => {
  fx = { staging: fixtures.staging(), "prod-us": fixtures["prod-us"](), "prod-eu": fixtures["prod-eu"]() };
  runner = fx["prod-eu"];
  for (const s of ["staging", "prod-us"] as const) fs.copyFileSync(fx[s].configFile, path.join(runner.dir, "stacks", `Pulumi.${s}.yaml`));
});
afterAll(() => {
  fs.rmSync(backend, { recursive: true, force: true });
});

/** Tags every workload of a stack's release runs (one entry when it is on one version). */
async function tags(stack: (typeof STACKS)[number]): Promise<string[]> {
  const images = await workloadImages(fx[stack]);
  return [...new Set(images.map((i) => /:(v\d+\.\d+\.\d+)/.exec(i)?.[1] ?? i))].sort();
}

/** The runs a stack has: journals in the runner's state dir and their shared copies in the cluster. */
async function runsOf(stack: (typeof STACKS)[number]): Promise<{ local: string[]; shared: string[] }> {
  const dir = journalDir(runner.stateDir, stack);
  const local = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  const cms = (await runner.core.listNamespacedConfigMap({ namespace: fx[stack].namespace })).items;
  return { local, shared: cms.map((c) => c.metadata?.name ?? "").filter((n) => n.startsWith("sie-fleet-run-")) };
}

const stackLines = (lines: Record<string, any>[]) => lines.filter((l) => l["kind"] === "stack").map((l) => `${l["stack"]}:${l["outcome"]}`);

async function expectAllOn(tag: string): Promise<void> {
  for (const s of STACKS) {
    await waitReleaseReady(fx[s]);
    expect(await tags(s), s).toEqual([tag]);
    expect(await holdsLeft(fx[s]), `${s}: KEDA thawed, no hold left`).toEqual([]);
  }
}

/**
 * The fleet command, SIGKILLed (only the CLI: its `pulumi` child lives on, as after the OOM killer)
 * at the first wave the second stack releases. Resolves with the lines printed before the kill.
 */
function fleetKilledInSecondStack(args: string[]): Promise<Record<string, any>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "sie-fleet.js"), ...args, "--json"], {
      cwd: runner.dir,
      env: { ...runner.ctx.env, CI: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Record<string, any>[] = [];
    let buf = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let e: Record<string, any>;
        try {
          e = JSON.parse(line) as Record<string, any>;
        } catch {
          continue;
        }
        lines.push(e);
        const firstDone = lines.some((l) => l["kind"] === "stack");
        if (firstDone && e["kind"] === "wave" && e["status"] === "released") child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      signal === "SIGKILL"
        ? resolve(lines)
        : reject(new Error(`the fleet run was not killed in its second stack (exit ${code}); saw ${stackLines(lines).join(" ")}\n${stderr}`)),
    );
  });
}

describe("upgrade --stacks staging,prod-us,prod-eu on the real cluster", () => {
  it(
    "moves all three in order, each after its source's soak: one stack line each, then the summary, exit 0",
    async () => {
      const r = await fleetCli(runner, ["upgrade", "--stacks", FLEET, "--to", "v0.3.2", "--yes"]);
      expect(r.code, r.detail).toBe(0);
      expect(stackLines(r.lines)).toEqual(["staging:succeeded", "prod-us:succeeded", "prod-eu:succeeded"]);
      expect(r.result).toMatchObject({ to: "v0.3.2", outcome: "succeeded", exitCode: 0, resumed: false });
      expect(r.result.stoppedAt).toBeUndefined();
      expect(r.result.stacks.map((s: { stack: string; outcome: string }) => `${s.stack}:${s.outcome}`)).toEqual([
        "staging:succeeded",
        "prod-us:succeeded",
        "prod-eu:succeeded",
      ]);
      for (const s of r.result.stacks) expect(s.runId, s.stack).toBeTruthy();
      await expectAllOn("v0.3.2");
    },
    3 * SCENARIO_TIMEOUT_MS,
  );

  it(
    "stops at prod-us when its canary fails there: reverted (exit 5), prod-eu untouched and never started",
    async () => {
      const euBefore = await runsOf("prod-eu");
      const scope = (fault: string | null) => ({ namespace: fx["prod-us"].namespace, component: "worker", pool: "l4", version: "v0.3.3", fault });
      const set = await control(fx["prod-us"], "faults", { scopes: [scope("crashloop")] });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      let r;
      try {
        r = await fleetCli(runner, ["upgrade", "--stacks", FLEET, "--to", "v0.3.3", "--yes"]);
      } finally {
        await control(fx["prod-us"], "faults", { scopes: [scope(null)] });
      }
      // docs/exit-codes.md: a fleet run exits with the code of the stack it stopped at, 5 for a revert.
      expect(r.code, r.detail).toBe(5);
      expect(stackLines(r.lines)).toEqual(["staging:succeeded", "prod-us:reverted"]);
      expect(r.result).toMatchObject({ outcome: "stopped", stoppedAt: "prod-us", exitCode: 5 });
      expect(r.result.stacks.map((s: { stack: string; outcome: string }) => `${s.stack}:${s.outcome}`)).toEqual([
        "staging:succeeded",
        "prod-us:reverted",
        "prod-eu:not-run",
      ]);
      expect(r.result.stacks[1].rule).toMatch(/^rollout/);
      expect(r.result.stacks[2].message).toMatch(/stopped at prod-us/);
      expect(r.result.stacks[2].runId).toBeUndefined();

      expect(await tags("staging")).toEqual(["v0.3.3"]);
      await waitReleaseReady(fx["prod-us"]);
      expect(await tags("prod-us")).toEqual(["v0.3.2"]);
      expect(await tags("prod-eu")).toEqual(["v0.3.2"]);
      expect(await runsOf("prod-eu"), "no run of prod-eu, here or in its namespace").toEqual(euBefore);
      for (const s of STACKS) expect(await holdsLeft(fx[s]), s).toEqual([]);
    },
    3 * SCENARIO_TIMEOUT_MS,
  );

  it(
    "killed while prod-us applies, the same command resumes: staging not redone, prod-us and prod-eu finished, all on the new tag with KEDA thawed",
    async () => {
      const args = ["upgrade", "--stacks", FLEET, "--to", "v0.3.4", "--yes"];
      const killed = await fleetKilledInSecondStack(args);
      expect(stackLines(killed)).toEqual(["staging:succeeded"]);
      const fleetId = killed.find((l) => l["kind"] === "stack")?.["runId"];
      expect(fleetId).toBeTruthy();
      // prod-us's own run, left unfinished by the kill: the resumed fleet's upgrade recovers it first.
      const killedRun = killed.findLast((l) => l["kind"] === "wave" && l["status"] === "released")?.["runId"];
      expect(killedRun).toBeTruthy();
      expect(killedRun).not.toBe(fleetId);
      const stagingRuns = await runsOf("staging");

      const r = await fleetCli(runner, args);
      expect(r.code, r.detail).toBe(0);
      expect(r.result).toMatchObject({ fleetId, outcome: "succeeded", exitCode: 0, resumed: true });
      expect(r.lines.some((l) => l["kind"] === "log" && /resuming fleet run/.test(String(l["message"])))).toBe(true);
      // staging was finished by the killed run: reported from the fleet journal, not upgraded again.
      expect(r.result.stacks[0]).toMatchObject({ stack: "staging", outcome: "succeeded", attempts: 0 });
      expect(r.result.stacks[0].message).toMatch(/earlier in this fleet run/);
      expect(await runsOf("staging")).toEqual(stagingRuns);
      expect(stackLines(r.lines)).toEqual(["prod-us:succeeded", "prod-eu:succeeded"]);
      expect(r.result.stacks.map((s: { stack: string; outcome: string }) => `${s.stack}:${s.outcome}`)).toEqual([
        "staging:succeeded",
        "prod-us:succeeded",
        "prod-eu:succeeded",
      ]);

      expect(r.result.stacks[1].runId).not.toBe(killedRun);
      const recovered = await readJournal(runner.stateDir, "prod-us", killedRun);
      expect(recovered.entries.at(-1)).toMatchObject({ kind: "outcome", outcome: "recovered" });

      await expectAllOn("v0.3.4");
      // The killed fleet run is the one that ended; nothing is left to resume.
      const journal = fs
        .readFileSync(path.join(fleetDir(runner.stateDir), `${fleetId}.jsonl`), "utf8")
        .trim()
        .split("\n");
      expect(JSON.parse(journal.at(-1)!)).toMatchObject({ kind: "end", outcome: "succeeded", exitCode: 0 });
    },
    4 * SCENARIO_TIMEOUT_MS,
  );
});
