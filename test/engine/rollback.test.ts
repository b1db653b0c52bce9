// Rollback on the real Helm release, and Helm's own record of it. After a good upgrade and a
// reverted one, `rollback --to previous` returns to the last good version with another tag and
// `rollback --to update:N` to the update `history` numbers N. Like Helm's own rollback, each rolls
// forward: every Pulumi update of the release — install, upgrade, revert, rollback — is one new
// Helm revision, and `helm history` lines up with `sie-fleet history` revision by revision.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { rollback } from "../../automation/actions/rollback.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { SHARED_CHARTS } from "../chart/helm.js";
import { helmHistory, helmValues } from "../support/helmRelease.js";
import { gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();
const why = (r: UpgradeResult) => JSON.stringify("failedGate" in r ? r.failedGate : r);
const appVersion = (chartVersion: string) =>
  (yaml.load(fs.readFileSync(path.join(SHARED_CHARTS, `sie-cluster-${chartVersion}`, "Chart.yaml"), "utf8")) as { appVersion: string }).appVersion;

describe("rollback and Helm's revision history", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  /** Every workload on `tag`, the gateway serving it, nothing held. */
  const expectRunning = async (tag: string) => {
    expect((await workloadImages(fx)).filter((i) => !i.includes(`:${tag}`))).toEqual([]);
    expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: tag.slice(1) });
    expect(await holdsLeft(fx)).toEqual([]);
  };

  it(
    "history: a good upgrade, then one reverted in the canary wave",
    async () => {
      expect((await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx)).outcome).toBe("succeeded");
      const bad = await upgrade({ stack: fx.stack, to: "v0.3.3-crashloop" }, fx.ctx);
      expect(bad.outcome, why(bad)).toBe("reverted");
      await expectRunning("v0.3.2");
    },
    2 * SCENARIO_TIMEOUT_MS,
  );

  it(
    "rollback --to previous returns to the last good update with another tag",
    async () => {
      const r = await rollback({ stack: fx.stack, target: { kind: "previous" } }, fx.ctx);
      expect(r.outcome, why(r)).toBe("succeeded");
      expect(r.to).toBe("v0.3.1");
      expect(fs.readFileSync(fx.configFile, "utf8")).toMatch(/imageTag: v0\.3\.1/);
      await expectRunning("v0.3.1");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "rollback --to update:N returns to the update history numbers N",
    async () => {
      const good = (await history({ stack: fx.stack }, fx.ctx)).find((h) => h.imageTag === "v0.3.2" && h.outcome === "succeeded");
      expect(good).toBeDefined();
      const r = await rollback({ stack: fx.stack, target: { kind: "update", version: good!.version } }, fx.ctx);
      expect(r.outcome, why(r)).toBe("succeeded");
      expect(r.to).toBe("v0.3.2");
      await expectRunning("v0.3.2");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it("helm history agrees with sie-fleet history: one Helm revision per update, same tag and chart, rollbacks as new revisions", async () => {
    const updates = (await history({ stack: fx.stack }, fx.ctx)).filter((h) => h.kind === "update").reverse();
    const revisions = await helmHistory(fx);
    // install, upgrade, bad upgrade, its revert, two rollbacks
    expect(updates.map((u) => u.imageTag)).toEqual(["v0.3.1", "v0.3.2", "v0.3.3-crashloop", "v0.3.2", "v0.3.1", "v0.3.2"]);
    expect(updates.every((u) => u.result === "succeeded")).toBe(true);
    expect(revisions.map((r) => r.revision)).toEqual(updates.map((u) => u.version));
    for (const [i, rev] of revisions.entries()) {
      const u = updates[i]!;
      const last = i === revisions.length - 1;
      expect(rev, `revision ${rev.revision}`).toMatchObject({
        chart: `sie-cluster-${u.chartVersion}`,
        app_version: appVersion(u.chartVersion!),
        status: last ? "deployed" : "superseded",
        description: i === 0 ? "Install complete" : "Upgrade complete",
      });
      const values = await helmValues(fx, rev.revision);
      expect(values.workers?.common?.image?.tag, `revision ${rev.revision}`).toBe(u.imageTag);
      expect(values.gateway?.image?.tag, `revision ${rev.revision}`).toBe(u.imageTag);
      // Helm recorded the revision while Pulumi's update ran.
      expect(new Date(rev.updated).getTime()).toBeGreaterThanOrEqual(new Date(u.startTime).getTime() - 1000);
      expect(new Date(rev.updated).getTime()).toBeLessThanOrEqual(new Date(u.endTime!).getTime() + 1000);
    }
  });
});
