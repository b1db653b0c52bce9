// The crash matrix's tools: run the CLI in its own process group, watch its journal and its
// process tree from the outside, SIGKILL it at a chosen point, and check what a recovery left.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";
import { FLEET_METADATA } from "../../core/defaults.js";
import { incompleteRun, parseJournalText, type JournalEntry } from "../../automation/journal/journal.js";
import { KubeClient } from "../../automation/kube/client.js";
import { ClusterJournal } from "../../automation/journal/clusterJournal.js";
import { runCli, spawnCli, workloadImages, type StackFixture } from "./harness.js";

export interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
}

/** Every process on this host (Linux /proc), for finding the CLI's Pulumi children. */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(d), ppid, cmd });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

export function descendants(root: number): Proc[] {
  const all = processes();
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of all.filter((x) => x.ppid === p)) {
      found.push(c);
      queue.push(c.pid);
    }
  }
  return found;
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone meanwhile */
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The `pulumi <verb>` process among a CLI's descendants, if one runs. */
export function pulumiChild(root: number, verb: "preview" | "up"): Proc | undefined {
  return descendants(root).find((p) => /(^|\/)pulumi( |$)/.test(p.cmd.split(" ")[0] ?? "") && p.cmd.split(" ").includes(verb));
}

export function journalFiles(fx: StackFixture, stack = fx.stack): string[] {
  const dir = path.join(fx.stateDir, "journal", stack);
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
}

export function readEntries(file: string): JournalEntry[] {
  return parseJournalText(fs.readFileSync(file, "utf8")).entries;
}

/** The stack's run journals as any machine reaches them: the ConfigMaps in the release namespace. */
export function sharedJournal(fx: StackFixture): ClusterJournal {
  return new ClusterJournal(KubeClient.fromKubeconfig({ kubeconfigPath: fx.cluster.kubeconfigPath }).api, fx.namespace, fx.stack);
}

/** One run's entries in the shared copy; fails when the cluster has none. */
export async function sharedEntries(fx: StackFixture, runId: string): Promise<JournalEntry[]> {
  const entries = await sharedJournal(fx).read(runId);
  expect(entries, `no shared journal of run ${runId} in namespace ${fx.namespace}`).toBeDefined();
  return entries!;
}

/**
 * True once the run's start entry is in the shared copy too. The local file gets it first, and a
 * kill in between leaves a run no other machine can know of; it had done nothing yet.
 */
export async function startShared(es: readonly JournalEntry[], fx: StackFixture): Promise<boolean> {
  const runId = es.find((e) => e.kind === "start")?.runId;
  return runId !== undefined && (await sharedJournal(fx).read(runId)) !== undefined;
}

/**
 * Deletes a killed run's local journal, as a CI runner that died with the run takes it along, so
 * whatever comes next can only learn about the run from the shared copy. Returns what the file
 * held: the run's acknowledged entries, which the shared copy must hold too.
 */
export function loseLocalJournal(killed: Killed): JournalEntry[] {
  const entries = readEntries(killed.journal);
  fs.rmSync(killed.journal);
  return entries;
}

/** seq, kind and action of each entry: what two copies of a journal agree on (the shared one may shorten evidence). */
export const steps = (es: readonly JournalEntry[]): string[] => es.map((e) => `${e.seq} ${e.kind} ${e.action ?? ""}`.trim());

/**
 * The killed run as a machine that never saw it finds it: finished in the shared copy, its
 * ConfigMap labelled with the outcome (old runs are pruned by it; "unfinished" ones never are),
 * and no unfinished run of the stack at all.
 */
export async function expectFinishedForEveryone(fx: StackFixture, runId: string): Promise<void> {
  const journal = sharedJournal(fx);
  const cm = await fx.core.readNamespacedConfigMap({ namespace: fx.namespace, name: journal.configMapName(runId) });
  expect(cm.metadata?.labels?.[FLEET_METADATA.outcome], `outcome label of ${cm.metadata?.name}`).toBe("recovered");
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-other-machine-"));
  try {
    expect((await incompleteRun(elsewhere, fx.stack, journal))?.runId).toBeUndefined();
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
}

export type KillMode = "cli" | "group" | "tree";

export interface KillPoint {
  /**
   * True once the run reached the point; `cli` is the CLI's pid (for its process tree), `fx` the
   * stack (for what the cluster shows, e.g. Helm's record of the release).
   */
  reached(entries: JournalEntry[], cli: number, fx: StackFixture): boolean | Promise<boolean>;
  /** Extra wait after the point is seen, so the kill lands inside a running step. */
  settleMs?: number;
  /**
   * "cli": SIGKILL the CLI alone (kill -9 <pid>, the OOM killer): its Pulumi children live on as
   * orphans. "group": SIGKILL its whole process group (a closed terminal): Pulumi's plugins, in
   * their own process groups, live on. "tree": SIGKILL every process of the tree, plugins too (a
   * killed container, a lost machine): the provider dies in the middle of what it was doing.
   */
  mode?: KillMode;
}

export interface Killed {
  runId: string;
  journal: string;
  /** Processes that were the CLI's descendants when it was killed (orphans in "cli" mode). */
  orphans: Proc[];
  stdout: string;
}

const isEntry = (e: JournalEntry, kind: string, action?: string, phase?: string) =>
  e.kind === kind && (action === undefined || e.action === action) && (phase === undefined || e.phase === phase);
export const has = (es: JournalEntry[], kind: string, action?: string, phase?: string) => es.some((e) => isEntry(e, kind, action, phase));

/** Starts `sie-fleet <args>` in its own process group and SIGKILLs it at `point`. */
export async function killAt(fx: StackFixture, args: string[], point: KillPoint, timeoutMs = 240_000): Promise<Killed> {
  const known = new Set(journalFiles(fx));
  const child = spawnCli(fx, args, { detached: true });
  child.stdin!.end();
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((r) => (done = r));
  const pid = child.pid!;
  const deadline = Date.now() + timeoutMs;
  let journal: string | undefined;
  for (;;) {
    if (done) throw new Error(`the CLI ended (code ${done.code}) before the kill point; stdout:\n${stdout.slice(-3000)}\nstderr:\n${stderr.slice(-3000)}`);
    if (Date.now() > deadline) {
      process.kill(-pid, "SIGKILL");
      throw new Error(`kill point not reached in ${timeoutMs} ms; journal ${journal ?? "(none)"}`);
    }
    journal ??= journalFiles(fx).find((f) => !known.has(f));
    if (journal && (await point.reached(readEntries(journal), pid, fx))) break;
    // Short: the last kill points are only tens of milliseconds wide (a few API calls).
    await new Promise((r) => setTimeout(r, 5));
  }
  if (point.settleMs) await new Promise((r) => setTimeout(r, point.settleMs));
  const orphans = descendants(pid);
  process.kill(point.mode === "group" || point.mode === "tree" ? -pid : pid, "SIGKILL");
  if (point.mode === "tree") for (const o of orphans) killIfAlive(o.pid);
  const end = await exited;
  expect(end.signal).toBe("SIGKILL");
  return { runId: path.basename(journal!, ".jsonl"), journal: journal!, orphans, stdout };
}

export interface ClusterView {
  config: Buffer;
  /** ScaledObject name → its annotations. */
  keda: Record<string, Record<string, string>>;
  /** StatefulSet name → spec.replicas: what KEDA runs; a probe of a pool at zero must leave it so. */
  replicas: Record<string, number | undefined>;
}

async function workerReplicas(fx: StackFixture): Promise<ClusterView["replicas"]> {
  const list = (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items;
  return Object.fromEntries(list.map((s) => [s.metadata?.name ?? "?", s.spec?.replicas]));
}

export async function scaledObjectAnnotations(fx: StackFixture): Promise<ClusterView["keda"]> {
  const r = (await fx.custom.listNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: fx.namespace, plural: "scaledobjects" })) as {
    items: { metadata: { name: string; annotations?: Record<string, string> } }[];
  };
  return Object.fromEntries(r.items.map((so) => [so.metadata.name, so.metadata.annotations ?? {}]));
}

export async function clusterView(fx: StackFixture): Promise<ClusterView> {
  return { config: fs.readFileSync(fx.configFile), keda: await scaledObjectAnnotations(fx), replicas: await workerReplicas(fx) };
}

/** The config file as `pulumi config set --path sie-fleet:release.imageTag <to>` leaves it. */
export function configWithTag(before: Buffer, from: string, to: string): Buffer {
  const text = before.toString("utf8");
  const re = new RegExp(`^(\\s+imageTag: )${from.replace(/\./g, "\\.")}$`, "m");
  expect(text).toMatch(re);
  return Buffer.from(text.replace(re, `$1${to}`));
}

/** Image tags of every SIE workload (worker tags lose their -<platform>-<bundle> suffix). */
export async function runningTags(fx: StackFixture): Promise<string[]> {
  const imgs = await workloadImages(fx);
  return [
    ...new Set(
      imgs.map((i) =>
        i
          .split(":")
          .pop()!
          .replace(/-(cuda\d*|cpu)-[a-z0-9._]+$/, ""),
      ),
    ),
  ];
}

/**
 * What every crash must end in: the stack verifies on one version (old or new), KEDA annotations
 * and worker counts as before the run, no sie-fleet or Pulumi lock, the config file byte-equal to one of the two
 * snapshots, no pending operations, every journal finished and well-formed, no orphan alive.
 * Returns the version the stack is on.
 */
export async function expectRecovered(fx: StackFixture, before: ClusterView, from: string, to: string, killed: Killed): Promise<string> {
  const v = await runCli(fx, ["verify", "--stack", fx.stack, "--json"]);
  expect(v.code, `verify failed:\n${v.stdout.slice(-4000)}\n${v.stderr.slice(-2000)}`).toBe(0);
  const tags = await runningTags(fx);
  expect(tags).toHaveLength(1);
  const on = tags[0]!;
  expect([from, to]).toContain(on);
  const config = fs.readFileSync(fx.configFile);
  expect(
    config.equals(on === from ? before.config : configWithTag(before.config, from, to)),
    `config file is not the ${on} snapshot:\n${config.toString()}`,
  ).toBe(true);
  expect(await scaledObjectAnnotations(fx)).toEqual(before.keda);
  expect(await workerReplicas(fx)).toEqual(before.replicas);
  expect(await helmReleaseStatus(fx), "the Helm release's newest revision").toBe("deployed");
  expect(fs.existsSync(path.join(fx.stateDir, "locks", `${fx.stack}.json`))).toBe(false);
  expect(pulumiLockFiles(fx)).toEqual([]);
  const exported = (await (await fx.open()).stack.exportStack()).deployment as { pending_operations?: unknown[] };
  expect(exported.pending_operations ?? []).toEqual([]);
  for (const f of journalFiles(fx)) expectCoherentJournal(f);
  // The shared copy is what another machine reads: the killed run must be finished there.
  expectCoherentEntries(await sharedEntries(fx, killed.runId), `shared journal of run ${killed.runId}`);
  // The pulumi CLI itself (which holds the stack lock) must be gone. Its plugins
  // (pulumi-language-nodejs, providers) run in their own process group and can outlive even a
  // group kill; they hold no lock and write no state, so they are reported and cleaned up here.
  for (const o of killed.orphans) {
    const exe = path.basename(o.cmd.split(" ")[0] ?? "");
    if (exe === "pulumi") expect(alive(o.pid), `orphan ${o.pid} (${o.cmd}) still runs`).toBe(false);
    else if (alive(o.pid)) {
      process.stderr.write(`crash matrix: leaked plugin process ${o.pid} (${o.cmd.slice(0, 100)}) outlived the kill; ending it\n`);
      killIfAlive(o.pid);
    }
  }
  return on;
}

/** Status of the newest revision of the release, from Helm's own record (its release Secrets). */
export async function helmReleaseStatus(fx: StackFixture, release = "sie"): Promise<string | undefined> {
  const secrets = (await fx.core.listNamespacedSecret({ namespace: fx.namespace, labelSelector: `owner=helm,name=${release}` })).items;
  const newest = secrets.sort((a, b) => Number(b.metadata?.labels?.["version"] ?? 0) - Number(a.metadata?.labels?.["version"] ?? 0))[0];
  return newest?.metadata?.labels?.["status"];
}

export function pulumiLockFiles(fx: StackFixture): string[] {
  const dir = path.join(fx.stateDir, "state", ".pulumi", "locks");
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const f of fs.readdirSync(d, { withFileTypes: true })) f.isDirectory() ? walk(path.join(d, f.name)) : out.push(path.join(d, f.name));
  };
  walk(dir);
  return out;
}

/** No corrupt or cut-short line, and the entries coherent (expectCoherentEntries). */
export function expectCoherentJournal(file: string): void {
  const parsed = parseJournalText(fs.readFileSync(file, "utf8"));
  expect(parsed.corruptLines, file).toEqual([]);
  expect(parsed.truncated, file).toBe(false);
  expectCoherentEntries(parsed.entries, file);
}

/** seq 1..n, one start first, every done refers to an earlier intent, ends with one outcome. */
export function expectCoherentEntries(es: readonly JournalEntry[], file: string): void {
  expect(es[0]?.kind, file).toBe("start");
  for (const [i, e] of es.entries()) expect(e.seq, file).toBe(i + 1);
  for (const d of es.filter((e) => e.kind === "done" && e.ref !== undefined)) {
    expect(es.find((e) => e.seq === d.ref)?.kind, `${file}: done ${d.seq} refers to ${d.ref}`).toBe("intent");
  }
  expect(es.at(-1)?.kind, file).toBe("outcome");
  expect(
    es.filter((e) => e.kind === "outcome"),
    file,
  ).toHaveLength(1);
}
