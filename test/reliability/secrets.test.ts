// Secrets never leak: a known HF token set as a Pulumi secret, the stack's config
// passphrase in the environment and the stack's kubeconfig output must not appear — raw or
// base64 — in any stdout, stderr, journal, history or status output, simulator log, or the
// support bundle (extracted and grepped byte by byte), across up, a good upgrade, a reverted
// upgrade, history, status, verify and support-bundle. The stack is a non-`local` one with its
// own passphrase, so the built-in local passphrase plays no part.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extract } from "tar";
import { openStack } from "../../automation/engine/stack.js";
import { CLI_BUILD_TIMEOUT_MS, ENGINE_TEST_TIMEOUT_MS, ensureCli, engineFixture, jsonLines, runCli, type CliResult, type EngineFixture } from "./harness.js";

const STACK = "secretive";
const HF_TOKEN = "hf_SieFleetTestToken_7d3e9a1c5b";
const PASSPHRASE = "correct-horse-battery-staple-41";

let fx: EngineFixture;
let kubeconfig = "";
const outputs: { what: string; text: string }[] = [];

const env = () => ({ PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });

async function cli(what: string, args: string[], expectCode: number): Promise<CliResult> {
  const r = await runCli(fx, [...args, "--stack", STACK], { env: env() });
  outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  expect(r.code, `${what}: exit code\n${r.stderr.slice(-2000)}`).toBe(expectCode);
  return r;
}

/** Every file under dir (recursively), as bytes. */
function filesUnder(dir: string): { file: string; bytes: Buffer }[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

function needles(): { name: string; value: string }[] {
  const raw = [
    { name: "HF token", value: HF_TOKEN },
    { name: "passphrase", value: PASSPHRASE },
    { name: "kubeconfig", value: kubeconfig },
  ];
  return raw.flatMap((n) => [
    n,
    { name: `${n.name} (base64)`, value: Buffer.from(n.value).toString("base64") },
    { name: `${n.name} (base64url)`, value: Buffer.from(n.value).toString("base64url") },
  ]);
}

function leaks(where: string, bytes: Buffer | string): string[] {
  const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  return needles().filter((n) => buf.includes(n.value)).map((n) => `${n.name} in ${where}`);
}

describe("secrets never appear in output, journals, logs or the support bundle", () => {
  beforeAll(async () => {
    await ensureCli();
    // A shared, loaded machine can take well over spawnSimulator's default 20 s to start it.
    fx = await engineFixture({ simStartTimeoutMs: 180_000 });
    fs.copyFileSync(path.join(fx.dir, "stacks", "Pulumi.local.yaml"), path.join(fx.dir, "stacks", `Pulumi.${STACK}.yaml`));
    const open = await openStack({ stack: STACK, projectDir: fx.dir, stateDir: fx.stateDir, env: { ...fx.ctx.env, ...env() } }, { create: true });
    await open.stack.setConfig("sie-fleet:hfToken", { value: HF_TOKEN, secret: true });
  }, CLI_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await fx?.cleanup();
  });

  // Steps share the stack and run in order; each is its own test so a leak names its command.
  it("up", async () => {
    await cli("up", ["up", "--yes", "--json"], 0);
    const open = await openStack({ stack: STACK, projectDir: fx.dir, stateDir: fx.stateDir, env: { ...fx.ctx.env, ...env() } });
    kubeconfig = String((await open.stack.outputs())["kubeconfig"]?.value ?? "");
    expect(kubeconfig.length, "the stack has a kubeconfig output").toBeGreaterThan(20);
    // The token really is in play: the stack config holds it as a secret.
    expect((await open.stack.getConfig("sie-fleet:hfToken")).value).toBe(HF_TOKEN);
  }, ENGINE_TEST_TIMEOUT_MS);

  it("upgrade (good)", async () => {
    await cli("upgrade (good)", ["upgrade", "--to", "v0.3.2", "--yes", "--json"], 0);
  }, ENGINE_TEST_TIMEOUT_MS);

  it("upgrade (reverted)", async () => {
    const reverted = await cli("upgrade (reverted)", ["upgrade", "--to", "v0.3.3-crashloop", "--yes"], 5);
    expect(reverted.stdout).toMatch(/reverted to v0\.3\.2/);
  }, ENGINE_TEST_TIMEOUT_MS);

  it("history, status, verify and a refused upgrade", async () => {
    const hist = await cli("history --json", ["history", "--json"], 0);
    expect(jsonLines(hist.stdout).at(-1)?.["kind"]).toBe("result");
    await cli("history", ["history"], 0);
    await cli("status", ["status"], 0);
    await cli("status --json", ["status", "--json"], 0);
    await cli("verify", ["verify", "--verbose"], 0);
    // A failing command's output is output too.
    await cli("upgrade (refused)", ["upgrade", "--to", "v0.9.0", "--yes", "--verbose"], 4);
  }, ENGINE_TEST_TIMEOUT_MS);

  let extracted: { file: string; bytes: Buffer }[] = [];
  let out = "";
  it("support-bundle", async () => {
    const bundle = path.join(fx.dir, "bundle.tar.gz");
    const b = await cli("support-bundle", ["support-bundle", "--output", bundle, "--json"], 0);
    const result = jsonLines(b.stdout).find((l) => l["kind"] === "result")?.["result"] as { files: { name: string }[]; notes: string[] };
    const names = result.files.map((f) => f.name);
    for (const want of ["manifest.json", "history.json", "status.json", "stack/config.json", "stack/values.json", "lock.json", "versions.json", "cluster/events.json", "sim/state.json"]) {
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
  }, ENGINE_TEST_TIMEOUT_MS);

  it("no secret, raw or base64, in any output, journal, snapshot, simulator log or bundle file", () => {
    expect(outputs.length).toBeGreaterThanOrEqual(20);
    const found = [
      ...outputs.flatMap((o) => leaks(o.what, o.text)),
      ...extracted.flatMap((f) => leaks(`bundle ${path.relative(out, f.file)}`, f.bytes)),
      ...filesUnder(path.join(fx.stateDir, "journal")).flatMap((f) => leaks(`journal ${path.basename(f.file)}`, f.bytes)),
      ...filesUnder(path.join(fx.stateDir, "snapshots")).flatMap((f) => leaks(`snapshot ${path.basename(f.file)}`, f.bytes)),
      ...filesUnder(path.join(fx.stateDir, "sim")).filter((f) => /\.log$/.test(f.file)).flatMap((f) => leaks(`simulator log ${path.basename(f.file)}`, f.bytes)),
    ];
    expect(found).toEqual([]);
  });
});
