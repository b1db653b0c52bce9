// Bad input through the real CLI: every case must exit with its documented code
// (docs/exit-codes.md), say what is wrong in one message naming the key or value and the fix,
// print no stack trace, and leave the stack's checkpoint, config file and export byte-identical.
// One deployed `local` stack is shared by the whole file; cases that break a fixture file restore it.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_DIR_ENV } from "../../infra/platforms/embeddedCluster.js";
import yaml from "js-yaml";
import { runCli, stackBytes, stackFiles, useStackFixture, type CliResult, type StackFixture } from "./harness.js";
import { withPrometheusChecks, type StackConfigMap } from "../support/stackFixture.js";

const fixture = useStackFixture();

interface Case {
  name: string;
  args: string[];
  exit: number;
  /** Must match the one message (stderr for errors; stdout for a refusal's result lines). */
  message: RegExp;
  /** Where the message is: errors go to stderr, refusals are results on stdout. */
  on?: "stderr" | "stdout";
  env?: (fx: StackFixture) => Record<string, string | undefined>;
  /** Breaks something before the command; returns how to restore it. */
  setup?: (fx: StackFixture) => Promise<() => void | Promise<void>> | (() => void | Promise<void>);
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Replaces a file's text for one case; the returned function puts the original bytes back. */
function editFile(file: string, edit: (text: string) => string): () => void {
  const before = fs.readFileSync(file);
  fs.writeFileSync(file, edit(before.toString("utf8")));
  return () => fs.writeFileSync(file, before);
}

function addFile(file: string, content: string): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return () => fs.rmSync(file, { force: true });
}

const configFile = (fx: StackFixture) => fx.configFile;
const journalFile = (fx: StackFixture, id: string) => path.join(fx.stateDir, "journal", "local", `${id}.jsonl`);
const rolloutKey = (extra: string) => (t: string) => t.replace("  sie-fleet:rollout:\n", `  sie-fleet:rollout:\n${extra}`);

let deadPort = 0;
let holder: ChildProcess | undefined;

const UP = ["upgrade", "--stack", "local", "--yes"];

const CASES: Case[] = [
  // --- flags
  { name: "unknown flag", args: [...UP, "--to", "v0.3.2", "--bogus"], exit: 2, message: /unknown option '--bogus'/ },
  { name: "missing --to", args: UP, exit: 2, message: /--to <tag>.*not specified.*e\.g\. `sie-fleet upgrade --stack dev --to v0\.3\.2`/ },
  { name: "--to without a patch number", args: [...UP, "--to", "0.3"], exit: 2, message: /--to.*'0\.3'.*vMAJOR\.MINOR\.PATCH/ },
  { name: "--to latest", args: [...UP, "--to", "latest"], exit: 2, message: /--to.*'latest'.*e\.g\. v0\.3\.2/ },
  { name: "--to with a bad suffix", args: [...UP, "--to", "v0.3.2-"], exit: 2, message: /--to.*'v0\.3\.2-'/ },
  { name: "--to with an empty value", args: [...UP, "--to", ""], exit: 2, message: /--to.*''/ },
  {
    name: "--chart-version junk",
    args: [...UP, "--to", "v0.3.2", "--chart-version", "junk"],
    exit: 2,
    message: /--chart-version.*'junk'.*MAJOR\.MINOR\.PATCH/,
  },
  {
    name: "preview --chart-version without --to",
    args: ["preview", "--stack", "local", "--chart-version", "0.3.2"],
    exit: 2,
    message: /--chart-version.*--to/,
  },
  { name: "unknown command", args: ["frobnicate", "--stack", "local"], exit: 2, message: /unknown command 'frobnicate'/ },
  { name: "misspelt command", args: ["upgrad", "--stack", "local"], exit: 2, message: /unknown command 'upgrad'.*upgrade/ },
  { name: "no --yes without a terminal", args: ["upgrade", "--stack", "local", "--to", "v0.3.2"], exit: 2, message: /--yes/ },
  { name: "history --limit 0", args: ["history", "--stack", "local", "--limit", "0"], exit: 2, message: /--limit.*'0'.*≥ 1/ },
  { name: "history --limit ten", args: ["history", "--stack", "local", "--limit", "ten"], exit: 2, message: /--limit.*'ten'/ },
  { name: "status --interval -1", args: ["status", "--stack", "local", "--watch", "--interval", "-1"], exit: 2, message: /--interval/ },
  { name: "cluster start --timeout 0", args: ["cluster", "start", "--timeout", "0"], exit: 2, message: /--timeout.*'0'.*≥ 1/ },
  { name: "rollback without --to", args: ["rollback", "--stack", "local", "--yes"], exit: 2, message: /--to <target>.*not specified/ },
  {
    name: "rollback --to update:abc",
    args: ["rollback", "--stack", "local", "--yes", "--to", "update:abc"],
    exit: 2,
    message: /--to.*'update:abc'.*update:<n>/,
  },
  { name: "rollback --to update:0", args: ["rollback", "--stack", "local", "--yes", "--to", "update:0"], exit: 2, message: /update numbers start at 1/ },
  {
    name: "rollback --to update:999",
    args: ["rollback", "--stack", "local", "--yes", "--to", "update:999"],
    exit: 2,
    message: /history has no update 999[\s\S]*sie-fleet history/,
  },
  {
    name: "rollback --to a tag never deployed",
    args: ["rollback", "--stack", "local", "--yes", "--to", "v0.1.0"],
    exit: 2,
    message: /history has no successful update with tag v0\.1\.0[\s\S]*sie-fleet history/,
  },
  // --- stack names
  { name: "stack name with a path", args: ["status", "--stack", "../etc"], exit: 2, message: /--stack.*'\.\.\/etc'.*letters, digits/ },
  { name: "stack name starting with a dot", args: ["history", "--stack", ".hidden"], exit: 2, message: /--stack.*'\.hidden'/ },
  { name: "stack name with a space", args: ["status", "--stack", "a b"], exit: 2, message: /--stack.*'a b'/ },
  { name: "--stack without a value", args: ["status", "--stack"], exit: 2, message: /--stack <name>.*argument missing/ },
  { name: "no stack at all", args: ["status"], exit: 2, message: /missing --stack.*SIE_FLEET_STACK/ },
  { name: "bad SIE_FLEET_STACK", args: ["status"], env: () => ({ SIE_FLEET_STACK: "x/y" }), exit: 2, message: /SIE_FLEET_STACK "x\/y"/ },
  { name: "missing stack: status", args: ["status", "--stack", "nosuch"], exit: 3, message: /no config for stack "nosuch".*Pulumi\.nosuch\.yaml/ },
  {
    name: "missing stack: upgrade",
    args: [...UP.map((a) => (a === "local" ? "nosuch" : a)), "--to", "v0.3.2"],
    exit: 3,
    message: /no config for stack "nosuch"/,
  },
  {
    name: "stack with a config file but never deployed",
    args: ["history", "--stack", "staging"],
    exit: 3,
    message: /stack "staging" has never been deployed[\s\S]*sie-fleet up --stack staging/,
    env: () => ({ PULUMI_CONFIG_PASSPHRASE: "staging-pass" }),
    setup: (fx) => addFile(path.join(fx.dir, "stacks", "Pulumi.staging.yaml"), fs.readFileSync(configFile(fx), "utf8")),
  },
  // --- version policy
  {
    name: "minor skip too large",
    args: [...UP, "--to", "v0.6.0"],
    exit: 4,
    on: "stdout",
    message: /refused by policy \(policy-skip-too-large\).*\n.*skips 2 minor.*v0\.5\.0.*--force/,
  },
  { name: "major change", args: [...UP, "--to", "v1.0.0"], exit: 4, on: "stdout", message: /policy-major-change/ },
  { name: "same version", args: [...UP, "--to", "v0.3.1"], exit: 4, on: "stdout", message: /already runs v0\.3\.1/ },
  {
    name: "downgrade below a forward-only version",
    args: [...UP, "--to", "v0.2.9"],
    exit: 4,
    on: "stdout",
    message: /policy-forward-only-downgrade.*\n.*below v0\.3\.0.*forward-only/,
    setup: (fx) => editFile(configFile(fx), rolloutKey("    forwardOnly: [v0.3.0]\n")),
  },
  {
    name: "upgrade across a forward-only version",
    args: [...UP, "--to", "v0.4.0"],
    exit: 4,
    on: "stdout",
    message: /policy-forward-only-crossing.*\n.*crosses v0\.4\.0/,
    setup: (fx) => editFile(configFile(fx), rolloutKey("    forwardOnly: [v0.4.0]\n")),
  },
  {
    name: "preview of a refused upgrade",
    args: ["preview", "--stack", "local", "--to", "v0.6.0"],
    exit: 4,
    on: "stdout",
    message: /would be refused by policy \(policy-skip-too-large\): .*skips 2 minor/,
  },
  // --- config files
  {
    name: "invalid YAML",
    args: [...UP, "--to", "v0.3.2"],
    exit: 2,
    message: /stacks\/Pulumi\.local\.yaml: not valid YAML \(yaml: line \d+/,
    setup: (fx) => editFile(configFile(fx), (t) => t.replace("  sie-fleet:platform: local\n", "  sie-fleet:platform: [local\n")),
  },
  {
    name: "zod-invalid value",
    args: [...UP, "--to", "v0.3.2"],
    exit: 2,
    message: /sie-fleet:rollout\.batchSize: must be ≥ 1 \(got -2\)[\s\S]*fix stacks\/Pulumi\.local\.yaml/,
    setup: (fx) => editFile(configFile(fx), rolloutKey("    batchSize: -2\n")),
  },
  {
    name: "unknown config key",
    args: ["status", "--stack", "local"],
    exit: 2,
    message: /rollout.*canaryPol/,
    setup: (fx) => editFile(configFile(fx), rolloutKey("    canaryPol: l4\n")),
  },
  {
    name: "unknown top-level key",
    args: ["verify", "--stack", "local"],
    exit: 2,
    message: /sie-fleet:frobnicate/,
    setup: (fx) => editFile(configFile(fx), (t) => t.replace("  sie-fleet:platform: local\n", "  sie-fleet:platform: local\n  sie-fleet:frobnicate: 3\n")),
  },
  // --- corrupt journals
  // A journal that cannot be read says nothing was changed: the next command marks it recovered
  // (docs/exit-codes.md, "Corrupt journals") and goes on; here that is a policy refusal.
  {
    name: "garbage journal file",
    args: [...UP, "--to", "v0.6.0"],
    exit: 4,
    on: "stdout",
    message: /policy-skip-too-large/,
    setup: (fx) => addFile(journalFile(fx, "20200101T000000000Z-aaaaaa"), "\u0000\u0001garbage\nmore garbage\n"),
  },
  {
    name: "journal cut off mid-line after a garbage line",
    args: ["recover", "--stack", "local", "--yes"],
    exit: 0,
    on: "stdout",
    message: /changed nothing \(run 20200101T000000000Z-bbbbbb\)/,
    setup: (fx) => addFile(journalFile(fx, "20200101T000000000Z-bbbbbb"), 'not json\n{"v":1,"seq":2,"kind":"int'),
  },
  // --- passphrase, cluster, Prometheus
  {
    name: "non-local stack with secrets and no passphrase",
    args: ["status", "--stack", "staging"],
    exit: 2,
    message: /PULUMI_CONFIG_PASSPHRASE.*"staging"/,
    env: () => ({ PULUMI_CONFIG_PASSPHRASE: undefined, PULUMI_CONFIG_PASSPHRASE_FILE: undefined }),
    setup: (fx) =>
      addFile(
        path.join(fx.dir, "stacks", "Pulumi.staging.yaml"),
        `encryptionsalt: v1:Zm9vYmFyYmF6:v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB==\nconfig:\n  sie-fleet:hfToken:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB\n${fs.readFileSync(configFile(fx), "utf8").replace(/^config:\n/m, "")}`,
      ),
  },
  {
    name: "embedded cluster not running",
    args: [...UP, "--to", "v0.3.2"],
    exit: 3,
    message: /runs on the embedded cluster, which is not running[\s\S]*sie-fleet cluster start/,
    env: (fx) => ({ [CLUSTER_DIR_ENV]: path.join(fx.dir, "no-cluster") }),
  },
  // The daemon lives but its API server does not answer (it died, or its port is taken).
  {
    name: "cluster unreachable",
    args: [...UP, "--to", "v0.3.2"],
    exit: 3,
    message: /cannot reach the cluster at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    env: (fx) => ({ [CLUSTER_DIR_ENV]: path.join(fx.dir, "dead-cluster") }),
    setup: (fx) => {
      const dir = path.join(fx.dir, "dead-cluster");
      fs.mkdirSync(dir, { recursive: true });
      const kubeconfigPath = path.join(dir, "kubeconfig");
      fs.writeFileSync(
        kubeconfigPath,
        fs.readFileSync(fx.cluster.kubeconfigPath, "utf8").replace(/https:\/\/127\.0\.0\.1:\d+/g, `https://127.0.0.1:${deadPort}`),
        { mode: 0o600 },
      );
      fs.writeFileSync(path.join(dir, "cluster.json"), JSON.stringify({ ...fx.cluster, dir, kubeconfigPath, server: `https://127.0.0.1:${deadPort}` }));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    },
  },
  {
    name: "Prometheus down with metric gates on",
    args: [...UP, "--to", "v0.3.2"],
    exit: 4,
    on: "stdout",
    message: /gate-unreachable[\s\S]*Prometheus does not answer at http:\/\/127\.0\.0\.1:\d+/,
    env: () => ({ SIE_FLEET_PROMETHEUS_URL: `http://127.0.0.1:${deadPort}` }),
    // The fixture's checks leave Prometheus out; this case puts the local stack's back.
    setup: (fx) =>
      editFile(configFile(fx), (t) => {
        const doc = yaml.load(t) as { config: StackConfigMap };
        withPrometheusChecks(doc.config);
        return yaml.dump(doc, { lineWidth: -1 });
      }),
  },
  // --- concurrent runs
  {
    name: "lock held by a live run",
    args: [...UP, "--to", "v0.3.2"],
    exit: 3,
    message: /locked by `upgrade --to v0\.3\.9` \(pid \d+.*recover/,
    setup: (fx) =>
      addFile(
        path.join(fx.stateDir, "locks", "local.json"),
        JSON.stringify({
          pid: holder?.pid,
          host: (globalThis as { __host?: string }).__host,
          runId: "20200101T000000000Z-cccccc",
          command: "upgrade --to v0.3.9",
          startedAt: "2020-01-01T00:00:00.000Z",
        }),
      ),
  },
  {
    name: "recover while a live run holds the lock",
    args: ["recover", "--stack", "local", "--yes"],
    exit: 3,
    message: /locked by/,
    setup: (fx) =>
      addFile(
        path.join(fx.stateDir, "locks", "local.json"),
        JSON.stringify({
          pid: holder?.pid,
          host: (globalThis as { __host?: string }).__host,
          runId: "20200101T000000000Z-cccccc",
          command: "upgrade --to v0.3.9",
          startedAt: "2020-01-01T00:00:00.000Z",
        }),
      ),
  },
];

function assertOneMessage(c: Case, r: CliResult): void {
  const where = c.on === "stdout" ? r.stdout : r.stderr;
  expect(where, `${c.name}: message`).toMatch(c.message);
  // No stack traces, ever: a frame looks like "    at fn (file:line:col)".
  expect(`${r.stdout}\n${r.stderr}`, `${c.name}: no stack trace`).not.toMatch(/^\s+at .+[:(].*\d+:\d+\)?$/m);
  if (c.on !== "stdout") {
    expect(r.stderr.match(/^error: /gm)?.length ?? 0, `${c.name}: exactly one error line`).toBe(1);
    expect(r.stderr, `${c.name}: names the fix`).toMatch(/hint: |e\.g\. |--help|: set /);
  }
}

describe("bad input leaves the stack untouched", () => {
  let baseline: Awaited<ReturnType<typeof stackBytes>>;
  beforeAll(async () => {
    const fx = fixture();
    deadPort = await closedPort();
    (globalThis as { __host?: string }).__host = (await import("node:os")).hostname();
    // A live process that is not a sie-fleet run: stands in for the holder of the stack lock.
    // It lives until afterAll kills it, however long the file takes on a slow machine.
    holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], { stdio: "ignore" });
    baseline = await stackBytes(fx);
  });
  afterAll(() => {
    holder?.kill("SIGKILL");
  });

  it("has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const fx = fixture();
      const restore = c.setup ? await c.setup(fx) : undefined;
      let r: CliResult;
      let configDuring: string | undefined;
      try {
        configDuring = fs.readFileSync(configFile(fx)).toString("base64");
        const t0 = Date.now();
        r = await runCli(fx, c.args, { env: c.env?.(fx) ?? {} });
        if (process.env["SIE_FLEET_TEST_LOG"]) {
          fs.appendFileSync(
            process.env["SIE_FLEET_TEST_LOG"],
            `--- ${c.name}: exit ${r.code} in ${Date.now() - t0} ms\n${r.stderr}${c.on === "stdout" ? r.stdout : ""}\n`,
          );
        }
        // The config file as the command left it (a broken fixture must stay as broken, not "fixed").
        expect(fs.readFileSync(configFile(fx)).toString("base64"), `${c.name}: config file untouched`).toBe(configDuring);
      } finally {
        await restore?.();
      }
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toMatchObject({ code: c.exit });
      assertOneMessage(c, r);
      expect(fs.existsSync(path.join(fx.stateDir, "locks", "local.json")), `${c.name}: lock released`).toBe(false);
      // The checkpoint and config bytes after every case; the full export once, at the end.
      expect(stackFiles(fx), `${c.name}: stack bytes`).toEqual({ checkpoint: baseline.checkpoint, config: baseline.config });
    });
  }

  it("leaves `pulumi stack export` byte-identical after all cases", async () => {
    expect(await stackBytes(fixture())).toEqual(baseline);
  });
});
