// Chart upgrades (`--chart-version`) of the real sie-cluster chart: the preview shows what the new
// chart changes inside the release (Helm renders both), the chart guardrail decides with its
// reason, and an applied chart upgrade can be brought back to the exact previous chart and values.
//   0.3.0 → 0.3.1: same templates, only labels and the image tags move → rolls in the usual waves.
//   0.2.0 → 0.3.1: the router becomes a gateway and a config service → refused, nothing changes.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { preview } from "../../automation/actions/preview.js";
import { rollback } from "../../automation/actions/rollback.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { helm } from "../chart/helm.js";
import { SCENARIO_TIMEOUT_MS, useStackFixture, type StackFixture } from "../support/stackFixture.js";

interface HelmRevision {
  revision: number;
  chart: string;
  status: string;
}

const helmArgs = (fx: StackFixture) => ["--kubeconfig", fx.cluster.kubeconfigPath, "--namespace", fx.namespace];
const helmHistory = async (fx: StackFixture): Promise<HelmRevision[]> =>
  JSON.parse(await helm(["history", "sie", ...helmArgs(fx), "--output", "json"])) as HelmRevision[];
const helmValues = async (fx: StackFixture, revision?: number): Promise<unknown> =>
  JSON.parse(await helm(["get", "values", "sie", ...helmArgs(fx), "--output", "json", ...(revision ? ["--revision", String(revision)] : [])]));
const atChart = (version: string) => (c: Record<string, any>) => {
  c["sie-fleet:release"].version = version;
};

describe("chart 0.3.0 → 0.3.1 (templates equal)", () => {
  const fixture = useStackFixture({ config: atChart("0.3.0") });

  it(
    "the preview lists what changes inside the release and the guardrail allows it; nothing is applied",
    async () => {
      const fx = fixture();
      const before = fs.readFileSync(fx.configFile);
      const report = await preview({ stack: fx.stack, to: "v0.3.2", chartVersion: "0.3.1" }, fx.ctx);
      expect(report.upgrade?.outcome).toBe("dry-run");
      const change = report.upgrade!.chartChange!;
      expect(change).toMatchObject({ from: "0.3.0", to: "0.3.1", added: [], removed: [], verdict: { allowed: true, rule: "chart-in-place" } });
      expect(change.changed.find((c) => c.object === "Deployment/sie-sie-cluster-gateway")?.paths).toEqual(
        expect.arrayContaining(["metadata.labels.helm.sh/chart", "spec.template.spec.containers[0].image"]),
      );
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      expect((await helmHistory(fx)).at(-1)).toMatchObject({ chart: "sie-cluster-0.3.0" });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "applied in waves; a rollback returns the exact previous chart and values",
    async () => {
      const fx = fixture();
      const [original] = (await helmHistory(fx)).slice(-1);
      const r = await upgrade({ stack: fx.stack, to: "v0.3.2", chartVersion: "0.3.1" }, fx.ctx);
      expect(r.outcome).toBe("succeeded");
      expect(r.chartChange?.verdict.rule).toBe("chart-in-place");
      expect((await helmHistory(fx)).at(-1)).toMatchObject({ chart: "sie-cluster-0.3.1", status: "deployed" });

      const back = await rollback({ stack: fx.stack, target: { kind: "previous" } }, fx.ctx);
      expect(back.outcome).toBe("succeeded");
      const last = (await helmHistory(fx)).at(-1)!;
      expect(last.chart).toBe("sie-cluster-0.3.0");
      expect(await helmValues(fx, last.revision)).toEqual(await helmValues(fx, original!.revision));
    },
    2 * SCENARIO_TIMEOUT_MS,
  );

  it(
    "a chart upgrade whose new version fails is reverted to the previous chart and values",
    async () => {
      const fx = fixture();
      const before = fs.readFileSync(fx.configFile);
      const [current] = (await helmHistory(fx)).slice(-1);
      const r = await upgrade({ stack: fx.stack, to: "v0.3.3-crashloop", chartVersion: "0.3.1" }, fx.ctx);
      expect(r.outcome).toBe("reverted");
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      const last = (await helmHistory(fx)).at(-1)!;
      expect(last.chart).toBe("sie-cluster-0.3.0");
      expect(await helmValues(fx, last.revision)).toEqual(await helmValues(fx, current!.revision));
    },
    SCENARIO_TIMEOUT_MS,
  );
});

describe("chart 0.2.0 → 0.3.1 (templates and values differ)", () => {
  const fixture = useStackFixture({ config: atChart("0.2.0") });

  it(
    "the preview shows the router replaced by gateway and config; the guardrail refuses with that reason",
    async () => {
      const fx = fixture();
      const report = await preview({ stack: fx.stack, to: "v0.3.2", chartVersion: "0.3.1" }, fx.ctx);
      expect(report.upgrade).toMatchObject({ outcome: "refused", refusedBy: "guardrail", rule: "chart-replaces-workloads" });
      const change = report.upgrade!.chartChange!;
      expect(change.removed).toContain("Deployment/sie-sie-cluster-router");
      expect(change.added).toEqual(expect.arrayContaining(["Deployment/sie-sie-cluster-gateway", "Deployment/sie-sie-cluster-config"]));
      expect(report.upgrade?.outcome === "refused" && report.upgrade.reason).toMatch(/removes Deployment\/sie-sie-cluster-router and adds/);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "the upgrade is refused (exit 4) and changes nothing: stack file and Helm revision as before",
    async () => {
      const fx = fixture();
      const before = fs.readFileSync(fx.configFile);
      const revisions = await helmHistory(fx);
      const r = await upgrade({ stack: fx.stack, to: "v0.3.2", chartVersion: "0.3.1" }, fx.ctx);
      expect(r).toMatchObject({ outcome: "refused", rule: "chart-replaces-workloads" });
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      expect(await helmHistory(fx)).toEqual(revisions);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
