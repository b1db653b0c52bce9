// Two machines, one stack: two working directories (each its own project copy and .sie-fleet)
// that share only the Pulumi backend (a file:// directory), the passphrase and the cluster. The
// stack's lock is a Lease in its release namespace and each run's journal is also kept in a
// ConfigMap there, so a second upgrade from anywhere is refused naming the holder, and a run
// killed on one machine (its state dir deleted too) is finished or undone from the other.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { REPO_ROOT } from "../../core/paths.js";
import { FLEET_METADATA, SHARED_JOURNAL } from "../../core/defaults.js";
import { Journal, JOURNAL_ACTIONS, readJournal } from "../../automation/journal/journal.js";
import { ClusterJournal } from "../../automation/journal/clusterJournal.js";
import { KubeClient, type KubeApi } from "../../automation/kube/index.js";
import { readClusterLock } from "../../automation/locks/lease.js";
import { upgradeKilledMidWave } from "../support/killedUpgrade.js";
import {
  pausedAnnotations,
  secondCheckout,
  SCENARIO_TIMEOUT_MS,
  useStackFixture,
  waitFor,
  waitReleaseReady,
  workloadImages,
  type StackFixture,
} from "../support/stackFixture.js";

const CLI = path.join(REPO_ROOT, "bin", "sie-fleet.js");
const backend = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-backend-"));
// Short lock timing so a holder that stops renewing expires within the test.
const LOCK_ENV = { SIE_FLEET_LOCK_EXPIRY_SECONDS: "20", SIE_FLEET_LOCK_RENEW_SECONDS: "2" };
const fixture = useStackFixture({ env: { PULUMI_BACKEND_URL: `file://${backend}`, ...LOCK_ENV } });

let a: StackFixture;
let b: StackFixture;
let api: KubeApi;
beforeAll(() => {
  a = fixture();
  b = secondCheckout(a);
  api = KubeClient.fromKubeconfig({ kubeconfigPath: a.cluster.kubeconfigPath }).api;
});
afterAll(async () => {
  await b?.cleanup();
  fs.rmSync(backend, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  /** The NDJSON lines printed so far. */
  lines: Record<string, any>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: Record<string, any>[]; stderr: string }>;
}

/** `sie-fleet <args> --json` in a checkout, as its own process. */
function start(fx: StackFixture, args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [CLI, ...args, "--json"], {
    cwd: fx.dir,
    env: { ...fx.ctx.env, CI: "1", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, any>[] = [];
  let buf = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, any>);
      } catch {
        /* not JSON */
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exit = new Promise<Awaited<Cli["exit"]>>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, lines, stderr }));
  });
  return { child, lines, exit };
}

async function cli(fx: StackFixture, args: string[], env: Record<string, string> = {}) {
  const r = await start(fx, args, env).exit;
  const last = r.lines.at(-1) ?? {};
  return {
    ...r,
    result: last["result"],
    error: last["error"],
    detail: `exit ${r.code}\n${JSON.stringify(last).slice(0, 3000)}\nstderr: ${r.stderr.slice(-2000)}`,
  };
}

const upgradeArgs = (to: string) => ["upgrade", "--stack", "local", "--to", to, "--yes"];

/** The whole release on one version, rolled out and Ready, no holds, KEDA thawed, no lock. */
async function expectSettledOn(fx: StackFixture, tag: string): Promise<void> {
  await waitReleaseReady(fx);
  const images = await workloadImages(fx);
  expect(
    images.filter((i) => !i.includes(`:${tag}`)),
    images.join("\n"),
  ).toEqual([]);
  expect(Object.values(await pausedAnnotations(fx)).filter((v) => v !== undefined)).toEqual([]);
  const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items;
  expect(sts.map((s) => `${s.metadata?.name}:${s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0}`)).toEqual(sts.map((s) => `${s.metadata?.name}:0`));
  const deps = (await fx.apps.listNamespacedDeployment({ namespace: fx.namespace })).items;
  expect(deps.filter((d) => d.spec?.paused).map((d) => d.metadata?.name)).toEqual([]);
  expect(await readClusterLock(api, fx.namespace, fx.stack)).toBeUndefined();
  const v = await cli(fx, ["verify", "--stack", "local"]);
  expect(v.code, v.detail).toBe(0);
}

/** What a `git pull` of the other checkout's committed stack file does. */
const syncStackFile = (from: StackFixture, to: StackFixture) => fs.copyFileSync(from.configFile, to.configFile);

const runConfigMaps = async (fx: StackFixture) =>
  (await fx.core.listNamespacedConfigMap({ namespace: fx.namespace, labelSelector: `${FLEET_METADATA.stack}=${fx.stack}` })).items;

// Runs of a stack of their own, so the deployed stack never sees them.
const JOURNAL_STACK = "journal-test";

describe("the shared journal in the cluster", () => {
  it("keeps whole entries, summarizes large evidence and never holds a secret", async () => {
    const shared = new ClusterJournal(api, a.namespace, JOURNAL_STACK);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-journal-"));
    try {
      const j = await Journal.create({ stateDir: dir, stack: JOURNAL_STACK, command: "upgrade", secrets: ["p4ssphrase-value"], shared });
      const pods = Array.from({ length: 400 }, (_, i) => ({
        pod: `w-${i}`,
        reason: "CrashLoopBackOff",
        restartCount: 3,
        image: "x",
        message: "back-off ".repeat(10),
      }));
      await j.step("freeze", JOURNAL_ACTIONS.kedaFreeze, { entries: [{ name: "so", note: "p4ssphrase-value" }] }, () => undefined);
      await j.evidence(
        "wave",
        JOURNAL_ACTIONS.waveGates,
        [{ name: "rollout:x", status: "fail", message: "crash", evidence: { pods }, durationMs: 5 }],
        "canary",
      );
      await j.recordOutcome("reverted");
      await j.close();
      const local = await readJournal(dir, JOURNAL_STACK, j.runId);
      const kept = (await shared.read(j.runId)) ?? [];
      expect(kept.map((e) => `${e.seq}:${e.kind}`)).toEqual(local.entries.map((e) => `${e.seq}:${e.kind}`));
      const gates = kept.find((e) => e.kind === "evidence");
      expect(gates?.trimmed).toMatch(/summarized/);
      expect(gates?.data).toEqual([{ name: "rollout:x", status: "fail", message: "crash", durationMs: 5 }]);
      expect(JSON.stringify(kept.find((e) => e.kind === "intent"))).toContain("[REDACTED]");
      const cm = await api.getConfigMap(a.namespace, shared.configMapName(j.runId));
      expect(JSON.stringify(cm)).not.toContain("p4ssphrase-value");
      expect(cm.metadata?.labels?.[FLEET_METADATA.outcome]).toBe("reverted");
      expect(JSON.stringify(cm.data ?? {}).length).toBeLessThan(SHARED_JOURNAL.maxObjectBytes);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a step whose journal cannot reach the cluster does not run, and says why", async () => {
    // A real TCP path to the API server that goes away mid-run, as a network does.
    const server = new URL(a.cluster.server);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((c) => {
      const up = net.connect(Number(server.port), server.hostname);
      sockets.add(c);
      sockets.add(up);
      c.pipe(up).pipe(c);
      const close = () => (c.destroy(), up.destroy());
      c.on("error", close).on("close", close);
      up.on("error", close).on("close", close);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const kubeconfig = yaml.load(fs.readFileSync(a.cluster.kubeconfigPath, "utf8")) as { clusters: { cluster: { server: string } }[] };
    for (const c of kubeconfig.clusters) c.cluster.server = `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-journal-"));
    fs.writeFileSync(path.join(dir, "kubeconfig"), yaml.dump(kubeconfig));
    try {
      const viaProxy = KubeClient.fromKubeconfig({ kubeconfigPath: path.join(dir, "kubeconfig") }).api;
      const j = await Journal.create({
        stateDir: dir,
        stack: JOURNAL_STACK,
        command: "upgrade",
        shared: new ClusterJournal(viaProxy, a.namespace, JOURNAL_STACK),
      });
      let ran = 0;
      await j.step("freeze", JOURNAL_ACTIONS.kedaFreeze, {}, () => ran++);
      await new Promise<void>((r) => proxy.close(() => r()).unref());
      for (const s of sockets) s.destroy();
      const err = await j.step("hold", JOURNAL_ACTIONS.holdsApply, {}, () => ran++).catch((e: unknown) => e as Error);
      expect(ran).toBe(1);
      expect(String(err)).toMatch(/patch configmap .*sie-fleet-run-.*(ECONNREFUSED|ECONNRESET|socket hang up)/);
      await j.close();
    } finally {
      proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("two machines, one stack", () => {
  it(
    "concurrent upgrades: one runs, the other is refused (exit 3) naming the holder, where and since when; status and history from the other machine show the run",
    async () => {
      const runs = [start(a, upgradeArgs("v0.3.2")), start(b, upgradeArgs("v0.3.2"))];
      const first = await Promise.race(runs.map(async (r) => ({ r, out: await r.exit })));
      const loser = first.r;
      const winner = runs.find((r) => r !== loser)!;
      const [loserFx, winnerFx] = loser === runs[0] ? [a, b] : [b, a];
      const refused = first.out.lines.at(-1)?.["error"];
      expect(first.out.code, JSON.stringify(refused)).toBe(3);
      expect(refused.code).toBe("stack-locked");
      expect(refused.message).toMatch(
        new RegExp(`locked by \`upgrade --to v0\\.3\\.2\` \\(pid ${winner.child.pid} on ${os.hostname()}, run \\S+, since \\d{4}-\\d\\d-\\d\\dT`),
      );
      expect(refused.message).toContain(`Lease ${a.namespace}/sie-fleet-lock-local`);

      // From the refused machine: who holds the lock and where the live run is.
      const st = await cli(loserFx, ["status", "--stack", "local"]);
      expect(st.code, st.detail).toBe(0);
      expect(winner.child.exitCode, "the upgrade ended before status could see it").toBeNull();
      expect(st.result.lock).toMatchObject({
        pid: winner.child.pid,
        command: "upgrade --to v0.3.2",
        where: `Lease ${a.namespace}/sie-fleet-lock-local`,
        expired: false,
      });
      expect(st.result.run).toMatchObject({ runId: st.result.lock.runId, command: "upgrade", live: true, journal: "shared" });

      const won = await winner.exit;
      expect(won.code, JSON.stringify(won.lines.at(-1)).slice(0, 3000)).toBe(0);
      const runId = won.lines.at(-1)?.["result"]?.runId as string;
      await expectSettledOn(a, "v0.3.2");
      syncStackFile(winnerFx, loserFx);
      const h = await history({ stack: "local" }, loserFx.ctx);
      expect(h[0]).toMatchObject({ imageTag: "v0.3.2", runId, outcome: "succeeded" });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "an upgrade SIGKILLed mid-wave on machine A, its .sie-fleet deleted: recover on machine B reverts it to one verified version, KEDA thawed, holds lifted",
    async () => {
      const before = fs.readFileSync(b.configFile);
      const seen = await upgradeKilledMidWave(a, "local", "v0.3.3");
      expect(seen).toContain("phase:hold:succeeded");
      fs.rmSync(a.stateDir, { recursive: true, force: true });

      const st = await cli(b, ["status", "--stack", "local"]);
      expect(st.code, st.detail).toBe(0);
      expect(st.result.lock).toMatchObject({ command: "upgrade --to v0.3.3", gone: true });
      expect(st.result.run).toMatchObject({ runId: st.result.lock.runId, phase: "wave", live: false, journal: "shared" });
      const killedRun = st.result.run.runId as string;

      const r = await cli(b, ["recover", "--stack", "local", "--yes"]);
      expect(r.code, r.detail).toBe(0);
      expect(r.result).toMatchObject({ action: "reverted", runId: killedRun, tookOverLock: { runId: killedRun } });
      expect(fs.readFileSync(b.configFile).equals(before)).toBe(true);
      await expectSettledOn(b, "v0.3.2");

      const cm = (await runConfigMaps(b)).find((c) => c.metadata?.annotations?.[FLEET_METADATA.runId] === killedRun);
      expect(cm?.metadata?.labels?.[FLEET_METADATA.outcome]).toBe("recovered");
      expect(Object.keys(cm?.binaryData ?? {})).toEqual(expect.arrayContaining(["config-snapshot.yaml", "config-target.yaml"]));
      const h = await history({ stack: "local" }, b.ctx);
      expect(h.find((u) => u.runId === killedRun)?.outcome).toBe("recovered");
      syncStackFile(b, a);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a holder that stops renewing is taken over only after the expiry and only by recover; when it wakes it stops (exit 6) and changes nothing",
    async () => {
      // Long enough for the two refusals below (two CLI starts refused at the lock, seconds each)
      // to come back before it expires on a busy machine; everything after waits it out.
      const held = start(a, upgradeArgs("v0.3.3"), { SIE_FLEET_LOCK_EXPIRY_SECONDS: "50", SIE_FLEET_LOCK_RENEW_SECONDS: "5" });
      await waitFor(
        "the upgrade on machine A to release its first wave",
        async () => (held.lines.some((e) => e["kind"] === "wave" && e["status"] === "released") ? true : undefined),
        { timeoutMs: 300_000, intervalMs: 50 },
      );
      // A hung runner: alive, holding the lock, no longer renewing it.
      held.child.kill("SIGSTOP");
      const lock = await readClusterLock(api, a.namespace, a.stack);
      expect(lock).toMatchObject({ pid: held.child.pid, expired: false });

      const upgradeB = await cli(b, upgradeArgs("v0.3.3"));
      const recoverB = await cli(b, ["recover", "--stack", "local", "--yes"]);
      const beforeExpiry = Date.now() < Date.parse(lock!.expiresAt);
      for (const r of [upgradeB, recoverB]) {
        expect(r.code, r.detail).toBe(3);
        expect(r.error.message).toContain(`pid ${held.child.pid} on ${os.hostname()}`);
      }
      expect(beforeExpiry, "the refusals came after the lock expired: the machine is too slow for this timing").toBe(true);

      await waitFor("the stopped holder's lock to expire", async () => ((await readClusterLock(api, a.namespace, a.stack))?.expired ? true : undefined), {
        timeoutMs: 150_000,
        intervalMs: 1000,
      });
      const upgradeAfter = await cli(b, upgradeArgs("v0.3.3"));
      expect(upgradeAfter.code, upgradeAfter.detail).toBe(3);
      expect(upgradeAfter.error.message).toMatch(
        /stopped renewing the lock at .* expired at .*only `sie-fleet recover --stack local` takes over an expired lock/,
      );

      const r = await cli(b, ["recover", "--stack", "local", "--yes"]);
      expect(r.code, r.detail).toBe(0);
      expect(r.result).toMatchObject({ action: "reverted", tookOverLock: { pid: held.child.pid } });
      await expectSettledOn(b, "v0.3.2");

      // The stopped run wakes up: its next step finds the lock gone and it stops without acting.
      held.child.kill("SIGCONT");
      const woke = await held.exit;
      expect(woke.code, JSON.stringify(woke.lines.at(-1))).toBe(6);
      expect(woke.lines.at(-1)?.["error"]?.code).toBe("lock-lost");
      await expectSettledOn(b, "v0.3.2");
      syncStackFile(b, a);
    },
    2 * SCENARIO_TIMEOUT_MS,
  );
});
