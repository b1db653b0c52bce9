// `sie-fleet support-bundle`: one .tar.gz a person can attach to a ticket. Every part is
// collected on its own, so a stack that was never deployed or a cluster that does not answer
// still yields a bundle with what exists and a note saying what is missing and why. Every byte
// goes through redact (known secret values, their base64 forms, and secret-named keys).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import yaml from "js-yaml";
import { create as createTar } from "tar";
import { CLUSTER_FILE, DAEMON_LOG, readClusterInfo } from "../../cluster/daemonState.js";
import { embeddedClusterDir } from "../../infra/platforms/embeddedCluster.js";
import { buildReleaseValues } from "../../infra/release/releaseValues.js";
import { openStack, type OpenStack } from "../engine/stack.js";
import { ensurePulumi } from "../engine/pulumiCli.js";
import { REPO_ROOT } from "../../core/paths.js";
import { UsageError } from "../../core/errors.js";
import { journalDir, listRuns } from "../journal/journal.js";
import type { KubeClient } from "../kube/index.js";
import { readLock } from "../locks/fileLock.js";
import { kubeconfigSecrets, redact, redactText, secretsFromEnv, withEncodedSecrets } from "../../core/redact.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext } from "../../core/types.js";
import { loadStackContext, validateStackConfig, type StackContext } from "./context.js";
import { history } from "./history.js";
import { status } from "./status.js";
import { stackTarget } from "./target.js";

const DEFAULT_BUNDLE_FILE = "sie-fleet-support.tar.gz";
/** How the stack config shows a secret value in the bundle. */
const SECRET_SHOWN_AS = "[secret]";
/** Only the end of a log is useful and logs can be large. */
const LOG_TAIL_BYTES = 512 * 1024;
/** A cluster that does not answer must not hang the bundle. */
const KUBE_TIMEOUT_MS = 10_000;

export interface SupportBundleOptions {
  stack: string;
  /** Where to write the .tar.gz; relative to ctx.cwd. Default sie-fleet-support.tar.gz. */
  output?: string;
}

export interface BundleFile {
  /** Path inside the bundle, e.g. "journal/20260101T….jsonl". */
  name: string;
  bytes: number;
  description: string;
}

export interface SupportBundleResult {
  stack: string;
  /** Absolute path of the written .tar.gz. */
  path: string;
  bytes: number;
  files: BundleFile[];
  /** Parts that could not be collected, each with the reason. */
  notes: string[];
}

interface Collector {
  dir: string;
  secrets: string[];
  files: BundleFile[];
  notes: string[];
}

function add(c: Collector, name: string, content: string | unknown, description: string): void {
  const text = typeof content === "string" ? redactText(content, c.secrets) : `${JSON.stringify(redact(content, c.secrets), null, 2)}\n`;
  const file = path.join(c.dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o600 });
  c.files.push({ name, bytes: Buffer.byteLength(text), description });
}

/** Runs one part; a failure becomes a note (first line of the message only, redacted). */
async function part(c: Collector, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split("\n").filter((l) => l.trim())[0] ?? "unknown error";
    c.notes.push(redactText(`${what}: not included (${msg})`, c.secrets));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000}s`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function tail(file: string): string {
  const size = fs.statSync(file).size;
  if (size <= LOG_TAIL_BYTES) return fs.readFileSync(file, "utf8");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(LOG_TAIL_BYTES);
    fs.readSync(fd, buf, 0, LOG_TAIL_BYTES, size - LOG_TAIL_BYTES);
    return `[… first ${size - LOG_TAIL_BYTES} bytes left out …]\n${buf.toString("utf8")}`;
  } finally {
    fs.closeSync(fd);
  }
}

/** `sie-fleet:platform` of a stack file that cannot be opened as a stack: which cluster's logs to add. */
function platformOf(stackFile: string): string | undefined {
  try {
    const p = (yaml.load(stackFile) as { config?: Record<string, unknown> } | undefined)?.config?.["sie-fleet:platform"];
    return typeof p === "string" ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Journal lines re-redacted one by one; lines that are not JSON are kept as redacted text. */
function redactJournal(text: string, secrets: readonly string[]): string {
  return text
    .split("\n")
    .map((line) => {
      if (!line.trim()) return line;
      try {
        return JSON.stringify(redact(JSON.parse(line) as unknown, secrets));
      } catch {
        return redactText(line, secrets);
      }
    })
    .join("\n");
}

/** The stack file with every `secure:` ciphertext replaced, for when the stack cannot be opened. */
function redactStackFile(text: string): string {
  return text.replace(/(secure:\s*)\S+/g, `$1${SECRET_SHOWN_AS}`).replace(/(encryptionsalt:\s*)\S+/g, `$1${SECRET_SHOWN_AS}`);
}

async function collectKubeEvents(c: Collector, kube: KubeClient, namespace: string): Promise<void> {
  const list = await withTimeout(kube.api.core.listNamespacedEvent({ namespace }), KUBE_TIMEOUT_MS, `the cluster (${kube.server})`);
  const events = [...list.items]
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")))
    .slice(-500)
    .map((e) => ({
      time: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp,
      type: e.type,
      reason: e.reason,
      object: `${e.involvedObject?.kind ?? "?"}/${e.involvedObject?.name ?? "?"}`,
      count: e.count,
      message: e.message,
    }));
  add(c, "cluster/events.json", { server: kube.server, namespace, events }, `Kubernetes Events of namespace ${namespace} (newest 500)`);
}

/** What a pod is doing, as `kubectl describe` would summarise it; no spec (env, volumes), so nothing secret by construction. */
function podStatus(p: V1Pod): Record<string, unknown> {
  const state = (s: NonNullable<NonNullable<V1Pod["status"]>["containerStatuses"]>[number]["state"]) =>
    s?.waiting
      ? { waiting: s.waiting.reason, message: s.waiting.message }
      : s?.terminated
        ? { terminated: s.terminated.reason, exitCode: s.terminated.exitCode }
        : s?.running
          ? { running: s.running.startedAt }
          : undefined;
  return {
    name: p.metadata?.name,
    labels: p.metadata?.labels,
    annotations: p.metadata?.annotations,
    createdAt: p.metadata?.creationTimestamp,
    ...(p.metadata?.deletionTimestamp ? { deletingSince: p.metadata.deletionTimestamp } : {}),
    node: p.spec?.nodeName,
    phase: p.status?.phase,
    conditions: p.status?.conditions?.map((k) => ({
      type: k.type,
      status: k.status,
      ...(k.reason ? { reason: k.reason } : {}),
      ...(k.message ? { message: k.message } : {}),
    })),
    containers: p.status?.containerStatuses?.map((k) => ({
      name: k.name,
      image: k.image,
      ready: k.ready,
      restartCount: k.restartCount,
      state: state(k.state),
      lastState: state(k.lastState),
    })),
  };
}

async function collectPods(c: Collector, kube: KubeClient, namespace: string): Promise<void> {
  const pods = await withTimeout(kube.api.listPods(namespace), KUBE_TIMEOUT_MS, `the cluster (${kube.server})`);
  const sorted = [...pods].sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  add(c, "cluster/pods.json", { server: kube.server, namespace, pods: sorted.map(podStatus) }, `status of every pod in namespace ${namespace}`);
}

/**
 * The Helm release as the stack recorded it: the non-secret stack outputs and the status the
 * Pulumi Kubernetes provider read back from Helm (revision, deployed or failed, chart).
 */
async function collectRelease(c: Collector, open: OpenStack): Promise<void> {
  const outputs = await open.stack.outputs();
  const plain = Object.fromEntries(
    Object.entries(outputs)
      .filter(([, o]) => !o.secret)
      .map(([k, o]) => [k, o.value]),
  );
  const deployment = (await open.stack.exportStack()).deployment as
    | { resources?: { urn: string; type: string; outputs?: Record<string, unknown> }[] }
    | undefined;
  const releases = (deployment?.resources ?? [])
    .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
    .map((r) => ({
      urn: r.urn,
      status: r.outputs?.["status"],
      chart: r.outputs?.["chart"],
      version: r.outputs?.["version"],
      namespace: r.outputs?.["namespace"],
      name: r.outputs?.["name"],
    }));
  add(c, "stack/release.json", { outputs: plain, helmReleases: releases }, "the stack's outputs (secret ones left out) and its Helm release's status");
}

/** The credentials in the embedded cluster's kubeconfigs (admin and one per component). */
function embeddedClusterSecrets(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith("kubeconfig"))
    .flatMap((f) => kubeconfigSecrets(fs.readFileSync(path.join(dir, f), "utf8")));
}

/**
 * The embedded cluster's own logs (daemon, etcd, API server, controllers, scheduler, kwok), when
 * the stack runs there: what happened to pods that no event explains.
 */
function collectEmbeddedCluster(c: Collector, dir: string): void {
  const info = readClusterInfo(dir);
  if (info) add(c, `embedded-cluster/${CLUSTER_FILE}`, info, "the embedded cluster's ports, versions, components and start timings");
  else c.notes.push(`embedded cluster: not running (no ${CLUSTER_FILE} in ${dir}); its logs are included as they were left`);
  const logs = [
    path.join(dir, DAEMON_LOG),
    ...(fs.existsSync(path.join(dir, "logs"))
      ? fs
          .readdirSync(path.join(dir, "logs"))
          .sort()
          .map((f) => path.join(dir, "logs", f))
      : []),
  ];
  let found = 0;
  for (const file of logs.filter((f) => f.endsWith(".log") && fs.existsSync(f))) {
    const name = path.relative(dir, file);
    add(c, `embedded-cluster/${name}`, tail(file), `embedded cluster ${name} (last ${LOG_TAIL_BYTES / 1024} KiB)`);
    found++;
  }
  if (found === 0) c.notes.push(`embedded cluster: no logs in ${dir}`);
}

async function toolVersions(): Promise<Record<string, string>> {
  const pkg = (file: string): string => {
    try {
      return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    } catch {
      return "unknown";
    }
  };
  let pulumi = "unknown";
  try {
    pulumi = (await ensurePulumi()).version?.toString() ?? "unknown";
  } catch (err) {
    pulumi = `unavailable (${(err as Error).message.split("\n")[0]})`;
  }
  return {
    "sie-fleet": pkg(path.join(REPO_ROOT, "package.json")),
    node: process.version,
    pulumi,
    "@pulumi/pulumi": pkg(path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "package.json")),
    "@kubernetes/client-node": pkg(path.join(REPO_ROOT, "node_modules", "@kubernetes", "client-node", "package.json")),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export async function supportBundle(opts: SupportBundleOptions, ctx: ActionContext): Promise<SupportBundleResult> {
  assertStackName(opts.stack);
  const cwd = ctx.cwd ?? process.cwd();
  const output = path.resolve(cwd, opts.output ?? DEFAULT_BUNDLE_FILE);
  if (!fs.existsSync(path.dirname(output))) {
    throw new UsageError(`--output ${opts.output ?? output}: directory ${path.dirname(output)} does not exist; create it or pick another path`, {
      code: "bad-output",
    });
  }
  if (fs.existsSync(output) && fs.statSync(output).isDirectory()) {
    throw new UsageError(`--output ${opts.output ?? output} is a directory; name a file, e.g. ${path.join(opts.output ?? output, DEFAULT_BUNDLE_FILE)}`, {
      code: "bad-output",
    });
  }
  const env = ctx.env ?? process.env;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-bundle-"));
  const root = `sie-fleet-support-${opts.stack}`;
  const c: Collector = { dir: path.join(work, root), secrets: withEncodedSecrets([...ctx.secrets, ...secretsFromEnv(env)]), files: [], notes: [] };
  fs.mkdirSync(c.dir, { recursive: true });
  try {
    const target = stackTarget(opts.stack, ctx);
    const clusterDir = embeddedClusterDir(ctx.stateDir, env);
    c.secrets = withEncodedSecrets([...c.secrets, ...embeddedClusterSecrets(clusterDir)]);
    let open: OpenStack | undefined;
    await part(c, "stack", async () => {
      open = await openStack(target);
      c.secrets = withEncodedSecrets([...c.secrets, ...open.secrets]);
    });

    // Config first: its secret values join the redaction list before anything else is written.
    let configMap: Awaited<ReturnType<OpenStack["stack"]["getAllConfig"]>> | undefined;
    await part(c, "stack config", async () => {
      if (!open) throw new Error("the stack could not be opened (see the note above)");
      configMap = await open.stack.getAllConfig();
      const plain: Record<string, unknown> = {};
      const secretKeys: string[] = [];
      for (const [k, v] of Object.entries(configMap)) {
        if (v.secret) {
          if (v.value) c.secrets = withEncodedSecrets([...c.secrets, v.value]);
          secretKeys.push(k);
        } else plain[k] = v;
      }
      // Secret entries are marked after redaction: redact would blank a key such as hfToken whole,
      // and the reader should see that the key is set, as a secret.
      const shown: Record<string, unknown> = redact(plain, c.secrets);
      for (const k of secretKeys) shown[k] = { value: SECRET_SHOWN_AS, secret: true };
      const outputs = await open.stack.outputs();
      for (const o of Object.values(outputs)) if (o.secret && typeof o.value === "string") c.secrets = withEncodedSecrets([...c.secrets, o.value]);
      const kubeconfig = outputs["kubeconfig"]?.value;
      if (typeof kubeconfig === "string") c.secrets = withEncodedSecrets([...c.secrets, kubeconfig]);
      const sorted = Object.fromEntries(Object.entries(shown).sort(([a], [b]) => a.localeCompare(b)));
      add(c, "stack/config.json", `${JSON.stringify(sorted, null, 2)}\n`, "the stack config (pulumi config), secret values shown as [secret]");
    });
    let namespace: string | undefined;
    let platform: string | undefined;
    if (!configMap) {
      await part(c, "stack config file", async () => {
        const file = path.join(target.projectDir ?? REPO_ROOT, "stacks", `Pulumi.${opts.stack}.yaml`);
        const text = fs.readFileSync(file, "utf8");
        add(c, `stack/Pulumi.${opts.stack}.yaml`, redactStackFile(text), "the stack config file, ciphertexts shown as [secret]");
        platform = platformOf(text);
      });
    }
    await part(c, "rendered Helm values", async () => {
      if (!configMap) throw new Error("no stack config");
      const config = validateStackConfig(configMap, opts.stack);
      namespace = config.release.namespace;
      platform = config.platform;
      add(c, "stack/values.json", buildReleaseValues(config), "the Helm values sie-fleet renders for the release");
    });

    await part(c, "journals", async () => {
      const runs = await listRuns(ctx.stateDir, opts.stack);
      if (runs.length === 0) c.notes.push(`journals: stack "${opts.stack}" has no runs in ${journalDir(ctx.stateDir, opts.stack)}`);
      for (const id of runs) {
        const text = fs.readFileSync(path.join(journalDir(ctx.stateDir, opts.stack), `${id}.jsonl`), "utf8");
        add(c, `journal/${id}.jsonl`, redactJournal(text, c.secrets), `run journal ${id}`);
      }
    });
    await part(c, "lock", async () => {
      const lock = await readLock(ctx.stateDir, opts.stack);
      add(c, "lock.json", { locked: lock !== undefined, ...(lock ? { holder: lock } : {}) }, "the sie-fleet run lock of the stack");
    });
    const quiet: ActionContext = { ...ctx, reporter: { emit: () => undefined } };
    await part(c, "history", async () =>
      add(c, "history.json", await history({ stack: opts.stack, limit: 100 }, quiet), "sie-fleet history (newest 100 updates)"),
    );
    await part(c, "status", async () =>
      add(c, "status.json", await withTimeout(status({ stack: opts.stack }, quiet), KUBE_TIMEOUT_MS * 3, "status"), "sie-fleet status"),
    );

    await part(c, "release", async () => {
      if (!open) throw new Error("the stack could not be opened (see the note above)");
      await collectRelease(c, open);
    });
    let sc: StackContext | undefined;
    await part(c, "cluster", async () => {
      if (!configMap) throw new Error("no stack config");
      sc = await loadStackContext(target);
      c.secrets = withEncodedSecrets([...c.secrets, ...sc.secrets]);
    });
    const kube = sc?.kube;
    const ns = sc?.names.namespace ?? namespace;
    if (kube && ns) {
      await part(c, "cluster events", () => collectKubeEvents(c, kube, ns));
      await part(c, "pods", () => collectPods(c, kube, ns));
    }
    // The embedded cluster: always for platform local (its logs matter most when it is down), and
    // for platform kubernetes when the stack's kubeconfig points at it.
    if (platform === "local" || (kube && readClusterInfo(clusterDir)?.server === kube.server)) {
      await part(c, "embedded cluster", async () => collectEmbeddedCluster(c, clusterDir));
    }
    await part(c, "tool versions", async () => add(c, "versions.json", await toolVersions(), "versions of sie-fleet, Node, Pulumi and libraries"));

    const manifest = {
      stack: opts.stack,
      createdAt: new Date().toISOString(),
      files: [...c.files],
      notes: c.notes,
      redaction:
        "known secret values (config passphrase, HF token, kubeconfig, secret config values) and their base64 forms are replaced by [REDACTED]; secret config values are shown as [secret]",
    };
    add(c, "manifest.json", manifest, "this list");
    fs.mkdirSync(path.dirname(output), { recursive: true });
    await createTar({ gzip: true, file: output, cwd: work, portable: true }, [root]);
    fs.chmodSync(output, 0o600);
    return { stack: opts.stack, path: output, bytes: fs.statSync(output).size, files: c.files, notes: c.notes };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
