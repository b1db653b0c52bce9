// Secrets never leak: a known HF token set as a Pulumi secret, the stack's config passphrase in
// the environment and the embedded cluster's kubeconfig (real client keys) must not appear — raw
// or base64 — in any stdout, stderr, journal, snapshot, the cluster's daemon and component logs,
// or the support bundle (extracted and grepped byte by byte), across up, a good upgrade, a
// reverted upgrade, history, status, verify and support-bundle. The stack is a non-`local` one
// with its own passphrase, so the built-in local passphrase plays no part.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { extract } from "tar";
import { jsonLines, runCli, SCENARIO_TIMEOUT_MS, useStackFixture, type CliResult, type StackFixture } from "./harness.js";

const STACK = "secretive";
const HF_TOKEN = "hf_SieFleetTestToken_7d3e9a1c5b";
const PASSPHRASE = "correct-horse-battery-staple-41";

const fixture = useStackFixture({ stack: STACK, deploy: false, env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE } });
let fx: StackFixture;
const outputs: { what: string; text: string }[] = [];

async function cli(what: string, args: string[], expectCode: number): Promise<CliResult> {
  const r = await runCli(fx, [...args, "--stack", STACK]);
  outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  expect(r.code, `${what}: exit code\n${r.stderr.slice(-2000)}`).toBe(expectCode);
  return r;
}

/** Every file under dir (recursively), as bytes. */
function filesUnder(dir: string): { file: string; bytes: Buffer }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

/** The kubeconfig's text and its client key, as stored (base64) and decoded (PEM). */
function kubeconfigNeedles(): { name: string; value: string }[] {
  const text = fs.readFileSync(fx.cluster.kubeconfigPath, "utf8");
  const doc = yaml.load(text) as { users: { user: Record<string, string> }[] };
  const key = doc.users[0]!.user["client-key-data"]!;
  expect(Buffer.from(key, "base64").toString()).toMatch(/PRIVATE KEY/);
  return [
    { name: "kubeconfig", value: text },
    { name: "kubeconfig client key", value: key },
    { name: "kubeconfig client key (PEM)", value: Buffer.from(key, "base64").toString() },
  ];
}

function needles(): { name: string; value: string }[] {
  const raw = [{ name: "HF token", value: HF_TOKEN }, { name: "passphrase", value: PASSPHRASE }, ...kubeconfigNeedles()];
  return raw.flatMap((n) => [
    n,
    { name: `${n.name} (base64)`, value: Buffer.from(n.value).toString("base64") },
    { name: `${n.name} (base64url)`, value: Buffer.from(n.value).toString("base64url") },
  ]);
}

function leaks(where: string, bytes: Buffer | string): string[] {
  const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  return needles()
    .filter((n) => buf.includes(n.value))
    .map((n) => `${n.name} in ${where}`);
}

describe("secrets never appear in output, journals, logs or the support bundle", () => {
  beforeAll(async () => {
    fx = fixture();
    const open = await fx.open(true);
    await open.stack.setConfig("sie-fleet:hfToken", { value: HF_TOKEN, secret: true });
  });

  // Steps share the stack and run in order; each is its own test so a leak names its command.
  it(
    "up",
    async () => {
      await cli("up", ["up", "--yes", "--json"], 0);
      const open = await fx.open();
      // The token really is in play: the stack config holds it as a secret, and the chart's Secret carries it.
      expect((await open.stack.getConfig("sie-fleet:hfToken")).value).toBe(HF_TOKEN);
      const secrets = (await fx.core.listNamespacedSecret({ namespace: fx.namespace })).items;
      expect(
        secrets.some((x) => Object.values(x.data ?? {}).includes(Buffer.from(HF_TOKEN).toString("base64"))),
        "a Secret of the release holds the HF token",
      ).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "upgrade (good)",
    async () => {
      await cli("upgrade (good)", ["upgrade", "--to", "v0.3.2", "--yes", "--json"], 0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "upgrade (reverted)",
    async () => {
      const reverted = await cli("upgrade (reverted)", ["upgrade", "--to", "v0.3.3-crashloop", "--yes"], 5);
      expect(reverted.stdout).toMatch(/reverted to v0\.3\.2/);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "history, status, verify and a refused upgrade",
    async () => {
      const hist = await cli("history --json", ["history", "--json"], 0);
      expect(jsonLines(hist.stdout).at(-1)?.["kind"]).toBe("result");
      await cli("history", ["history"], 0);
      await cli("status", ["status"], 0);
      await cli("status --json", ["status", "--json"], 0);
      await cli("verify", ["verify", "--verbose"], 0);
      // A failing command's output is output too.
      await cli("upgrade (refused)", ["upgrade", "--to", "v0.9.0", "--yes", "--verbose"], 4);
    },
    SCENARIO_TIMEOUT_MS,
  );

  let extracted: { file: string; bytes: Buffer }[] = [];
  let out = "";
  it(
    "support-bundle",
    async () => {
      const bundle = path.join(fx.dir, "bundle.tar.gz");
      const b = await cli("support-bundle", ["support-bundle", "--output", bundle, "--json"], 0);
      const result = jsonLines(b.stdout).find((l) => l["kind"] === "result")?.["result"] as { files: { name: string }[]; notes: string[] };
      const names = result.files.map((f) => f.name);
      for (const want of [
        "manifest.json",
        "history.json",
        "status.json",
        "stack/config.json",
        "stack/values.json",
        "stack/release.json",
        "lock.json",
        "versions.json",
        "cluster/events.json",
        "cluster/pods.json",
        "embedded-cluster/daemon.log",
        "embedded-cluster/logs/kube-apiserver.log",
      ]) {
        expect(names, `bundle has ${want} (notes: ${result.notes.join("; ")})`).toContain(want);
      }
      expect(names.filter((n) => n.startsWith("journal/")).length, "bundle has the run journals").toBeGreaterThanOrEqual(2);
      out = path.join(fx.dir, "bundle-extracted");
      fs.mkdirSync(out);
      await extract({ file: bundle, cwd: out });
      extracted = filesUnder(out);
      expect(extracted.length).toBe(names.length);
      // The token is shown as a secret in the bundled config, not dropped silently.
      const cfg = extracted.find((f) => f.file.endsWith(path.join("stack", "config.json")));
      expect(cfg?.bytes.toString()).toMatch(/"sie-fleet:hfToken": \{\s*"value": "\[secret\]"/);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it("no secret, raw or base64, in any output, journal, snapshot, cluster log or bundle file", () => {
    expect(outputs.length).toBeGreaterThanOrEqual(20);
    const found = [
      ...outputs.flatMap((o) => leaks(o.what, o.text)),
      ...extracted.flatMap((f) => leaks(`bundle ${path.relative(out, f.file)}`, f.bytes)),
      ...filesUnder(path.join(fx.stateDir, "journal")).flatMap((f) => leaks(`journal ${path.basename(f.file)}`, f.bytes)),
      ...filesUnder(path.join(fx.stateDir, "snapshots")).flatMap((f) => leaks(`snapshot ${path.basename(f.file)}`, f.bytes)),
      ...filesUnder(fx.cluster.dir)
        .filter((f) => /\.log$/.test(f.file))
        .flatMap((f) => leaks(`cluster log ${path.relative(fx.cluster.dir, f.file)}`, f.bytes)),
    ];
    expect(found).toEqual([]);
  });
});
