// Promotion on the real cluster: two stacks of one project sharing a file:// backend, `staging`
// and `prod`, each in its own namespace and checkout (prod's checkout has staging's stack file as
// the repository would, but none of staging's local journals: it reads them from the cluster).
// prod is promoted from staging (`rollout.promotion`), so an upgrade of prod is refused until
// staging verified the tag, soaked it and still runs it; and the digests prod's new pods run are
// compared with those staging's verified run recorded, which the embedded registry can make
// differ by moving a tag in prod's namespace (cluster/endpoints/digestMoves.ts).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { shortDigest } from "../../core/imageDigests.js";
import { JOURNAL_ACTIONS, readJournal } from "../../automation/journal/journal.js";
import type { ImageDigest } from "../../core/imageDigests.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { fleetCli } from "../support/fleetCli.js";
import { helmHistory } from "../support/helmRelease.js";
import { SCENARIO_TIMEOUT_MS, useStackFixture, waitReleaseReady, workloadImages, type StackFixture } from "../support/stackFixture.js";

const backend = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-backend-"));
const env = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "promotion-test-passphrase" };
/** Long enough that the refusal right after staging's upgrade still falls inside it on a busy machine. */
const SOAK_MINUTES = 1.5;
/**
 * prod's soak once that refusal is proven: the tests after it only wait the soak out (and the
 * fleet run must still find prod soaking right after staging's upgrade, seconds later).
 */
const SHORT_SOAK_MINUTES = 0.5;
const stagingFixture = useStackFixture({ stack: "staging", env });
const prodFixture = useStackFixture({
  stack: "prod",
  env,
  config: (c) => {
    c["sie-fleet:rollout"] = { ...c["sie-fleet:rollout"], promotion: { from: "staging", minSoakMinutes: SOAK_MINUTES } };
  },
});

let staging: StackFixture;
let prod: StackFixture;
beforeAll(() => {
  staging = stagingFixture();
  prod = prodFixture();
  syncStagingFile();
});
afterAll(async () => {
  await registry({ clear: true }).catch(() => undefined);
  fs.rmSync(backend, { recursive: true, force: true });
});

/** What a `git pull` in prod's checkout brings: staging's stack file as the repository has it. */
const syncStagingFile = () => fs.copyFileSync(staging.configFile, path.join(prod.dir, "stacks", "Pulumi.staging.yaml"));

/** The embedded registry's moved tags (cluster/endpoints/README.md). */
async function registry(body: Record<string, unknown>): Promise<unknown> {
  const r = await fetch(`${prod.cluster.endpointsUrl}/control/registry`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
  return r.json();
}

/** What kwok reports for an image nobody moved. */
const kwokDigest = (image: string, salt = "") =>
  `sha256:${createHash("sha256")
    .update(image + salt)
    .digest("hex")}`;

/** Everything a refused run must leave alone. */
const untouched = async (fx: StackFixture) => ({
  config: fs.readFileSync(fx.configFile, "utf8"),
  images: await workloadImages(fx),
  revisions: (await helmHistory(fx)).length,
});

const detail = (r: UpgradeResult) => JSON.stringify("failedGate" in r ? r.failedGate : "reason" in r ? r.reason : r.outcome).slice(0, 2000);

/** Sets prod's `rollout.promotion.minSoakMinutes` in its stack file, as an operator editing it would. */
function setProdSoak(minutes: number): void {
  const doc = yaml.load(fs.readFileSync(prod.configFile, "utf8")) as { config: Record<string, any> };
  doc.config["sie-fleet:rollout"].promotion.minSoakMinutes = minutes;
  fs.writeFileSync(prod.configFile, yaml.dump(doc, { lineWidth: -1 }));
}

/** Waits until `minutes` passed since `iso`. */
async function waitSoak(iso: string, minutes: number): Promise<void> {
  const left = new Date(iso).getTime() + minutes * 60_000 + 1_000 - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

describe("promotion from staging to prod", () => {
  let stagingVerifiedAt = "";
  let stagingRun = "";
  let stagingDigests: ImageDigest[] = [];

  it(
    "prod is refused (exit 4) while staging never verified the tag, naming the missing evidence and the fix; prod is untouched",
    async () => {
      const before = await untouched(prod);
      const r = await fleetCli(prod, ["upgrade", "--stack", "prod", "--to", "v0.3.2", "--yes"]);
      expect(r.code, r.detail).toBe(4);
      expect(r.result).toMatchObject({ outcome: "refused", refusedBy: "policy", rule: "policy-promotion-unverified" });
      expect(r.result.reason).toMatch(/staging never ran v0\.3\.2 through a successful verified sie-fleet upgrade/);
      expect(r.result.hint).toMatch(/sie-fleet upgrade --stack staging --to v0\.3\.2 --yes.*--force/);
      expect(r.result.promotion).toMatchObject({ from: "staging", allowed: false, overridden: false });
      expect(await untouched(prod)).toEqual(before);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a verified upgrade of staging records the digests its pods run",
    async () => {
      const r = await upgrade({ stack: "staging", to: "v0.3.2" }, staging.ctx);
      expect(r.outcome, detail(r)).toBe("succeeded");
      if (r.outcome !== "succeeded") return;
      stagingVerifiedAt = r.finishedAt;
      stagingRun = r.runId;
      syncStagingFile();
      const images = new Set((r.digests ?? []).map((d) => d.image));
      expect([...images].sort()).toEqual(
        expect.arrayContaining([
          "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default",
          expect.stringMatching(/sie-gateway:v0\.3\.2$/),
          expect.stringMatching(/sie-config:v0\.3\.2$/),
        ]),
      );
      for (const d of r.digests ?? []) expect(d.digest, d.image).toBe(kwokDigest(d.image));
      // cpu runs no worker: its digest is the probe's, read while its wave was verified.
      expect(new Set((r.digests ?? []).filter((d) => d.component === "worker").map((d) => d.pool))).toEqual(new Set(["l4", "a100", "cpu"]));
      stagingDigests = r.digests ?? [];
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "prod is refused before staging's soak ends, saying how long is left",
    async () => {
      const before = await untouched(prod);
      const r = await upgrade({ stack: "prod", to: "v0.3.2" }, prod.ctx);
      expect(r.outcome, detail(r)).toBe("refused");
      if (r.outcome !== "refused") return;
      expect(r.rule).toBe("policy-promotion-soaking");
      expect(r.reason).toMatch(/to go\)/);
      expect(r.promotion?.evidence?.runId).toBe(stagingRun);
      expect(await untouched(prod)).toEqual(before);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "history shows staging's verified digests: short in the table, whole in --json",
    async () => {
      const [latest] = await history({ stack: "staging" }, staging.ctx);
      expect(latest).toMatchObject({ imageTag: "v0.3.2", outcome: "succeeded", runId: stagingRun, digests: stagingDigests });
      const table = await fleetCli(staging, ["history", "--stack", "staging"], { json: false });
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain("DIGESTS");
      expect(table.stdout).toContain(shortDigest(stagingDigests[0]!.digest));
      expect(table.stdout).not.toContain(stagingDigests[0]!.digest);
      const json = await fleetCli(staging, ["history", "--stack", "staging"]);
      expect(json.result[0]).toMatchObject({ runId: stagingRun, digests: stagingDigests });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "after the soak prod takes the tag, and its new pods run exactly what staging verified",
    async () => {
      setProdSoak(SHORT_SOAK_MINUTES);
      await waitSoak(stagingVerifiedAt, SHORT_SOAK_MINUTES);
      const r = await upgrade({ stack: "prod", to: "v0.3.2" }, prod.ctx);
      expect(r.outcome, detail(r)).toBe("succeeded");
      if (r.outcome !== "succeeded") return;
      expect(r.promotion).toMatchObject({ from: "staging", allowed: true, overridden: false, evidence: { runId: stagingRun } });
      expect(r.promotion!.digestChecks.length).toBeGreaterThanOrEqual(3);
      expect(r.promotion!.digestChecks.every((c) => c.status === "pass")).toBe(true);
      const canary = r.waves[0]!.gates.find((g) => g.name === "promotion-digests");
      expect(canary?.status).toBe("pass");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "when the tag moved for prod, the canary's digests differ from staging's: reverted, naming both digests",
    async () => {
      const s = await upgrade({ stack: "staging", to: "v0.3.3" }, staging.ctx);
      expect(s.outcome, detail(s)).toBe("succeeded");
      syncStagingFile();
      await registry({ moves: [{ namespace: prod.namespace, version: "v0.3.3", salt: "pushed-over" }] });
      await waitSoak(s.finishedAt, SHORT_SOAK_MINUTES);

      const r = await upgrade({ stack: "prod", to: "v0.3.3" }, prod.ctx);
      expect(r.outcome, detail(r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.failedGate.name).toBe("promotion-digests");
      expect(r.waves.map((w) => `${w.wave.name}:${w.status}`)).toEqual(["canary:failed"]);
      const image = "ghcr.io/superlinked/sie-server:v0.3.3-cuda12-default";
      expect(r.failedGate.message).toContain(`runs ${image} at ${kwokDigest(image, "pushed-over")}, but staging verified it at ${kwokDigest(image)}`);
      expect(r.revertedTo).toBe("v0.3.2");
      await waitReleaseReady(prod);
      expect((await workloadImages(prod)).filter((i) => !i.includes(":v0.3.2"))).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "--force promotes the moved tag anyway, says so loudly and records the override in the journal",
    async () => {
      const r = await fleetCli(prod, ["upgrade", "--stack", "prod", "--to", "v0.3.3", "--yes", "--force"]);
      expect(r.code, r.detail).toBe(0);
      expect(r.result).toMatchObject({ outcome: "succeeded", promotion: { allowed: true, overridden: true } });
      const warnings = r.lines.filter((l) => l["kind"] === "log" && l["level"] === "warn").map((l) => String(l["message"]));
      expect(warnings.some((m) => m.startsWith("‼ --force: promoting anyway although"))).toBe(true);
      const journal = await readJournal(prod.stateDir, "prod", r.result.runId);
      expect(journal.entries.find((e) => e.kind === "start")?.data).toMatchObject({ force: true });
      const overrides = journal.entries.filter((e) => e.action === JOURNAL_ACTIONS.promotionOverride);
      expect(overrides.length).toBeGreaterThanOrEqual(1);
      expect(overrides[0]!.message).toMatch(/‼ --force: promoting anyway although .* staging verified it at sha256:/);
      expect(journal.entries.at(-1)).toMatchObject({ kind: "outcome", outcome: "succeeded" });
      // What prod runs now is what it recorded, moved digest and all.
      const image = "ghcr.io/superlinked/sie-server:v0.3.3-cuda12-default";
      const workers = (r.result.digests as { image: string; digest: string }[]).filter((d) => d.image === image);
      expect(workers.length).toBeGreaterThanOrEqual(1);
      for (const d of workers) expect(d.digest).toBe(kwokDigest(image, "pushed-over"));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "upgrade --stacks staging,prod moves both in order, prod waiting out staging's soak; one stack line each, then the summary",
    async () => {
      // From prod's checkout, which has staging's stack file (as the repository does) and reads
      // staging's earlier runs from the journal in its cluster.
      const r = await fleetCli(prod, ["upgrade", "--stacks", "staging,prod", "--to", "v0.3.4", "--yes"]);
      expect(r.code, r.detail).toBe(0);
      const stacks = r.lines.filter((l) => l["kind"] === "stack");
      expect(stacks.map((l) => `${l["stack"]}:${l["outcome"]}`)).toEqual(["staging:succeeded", "prod:succeeded"]);
      expect(r.result).toMatchObject({ outcome: "succeeded", exitCode: 0, resumed: false });
      expect(r.result.stacks[1]).toMatchObject({ stack: "prod", attempts: 2 });
      expect(r.result.stacks[1].waitedMs).toBeGreaterThan(0);
      await waitReleaseReady(prod);
      expect((await workloadImages(prod)).filter((i) => !i.includes(":v0.3.4"))).toEqual([]);
    },
    2 * SCENARIO_TIMEOUT_MS,
  );
});
