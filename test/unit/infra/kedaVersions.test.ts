// keda.version follows the cluster's Kubernetes version through KEDA's compatibility table.
import { describe, expect, it } from "vitest";
import { parseConfig, validateConfig } from "../../../infra/config/configParse.js";
import { KEDA_RELEASES, clusterKubernetesMinor, kedaReleaseFor, kedaReleasesSupporting } from "../../../infra/release/kedaVersions.js";
import { eksRaw, gkeRaw, kubernetesRaw, withValue, type Raw } from "./fixtures.js";

function problemsOf(raw: Raw) {
  const r = validateConfig(raw);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.problems.map((p) => `${p.key}: ${p.reason} (${p.hint ?? ""})`);
}

const minorNum = (v: string) => v.split(".").map(Number) as [number, number];
const cmp = (a: string, b: string) => {
  const [x, y] = [minorNum(a), minorNum(b)];
  return x[0] - y[0] || x[1] - y[1];
};

describe("KEDA_RELEASES", () => {
  it("is newest first, one row per minor, each chart of its own minor, each window low <= high and N-2 wide at least", () => {
    expect(new Set(KEDA_RELEASES.map((r) => r.minor)).size).toBe(KEDA_RELEASES.length);
    for (const [i, r] of KEDA_RELEASES.entries()) {
      expect(r.chart, r.minor).toMatch(/^\d+\.\d+\.\d+$/);
      expect(r.chart.startsWith(`${r.minor}.`), r.minor).toBe(true);
      expect(cmp(r.kubernetes[0], r.kubernetes[1]), r.minor).toBeLessThan(0);
      if (i > 0) {
        const newer = KEDA_RELEASES[i - 1]!;
        expect(cmp(newer.minor, r.minor), `${newer.minor} before ${r.minor}`).toBeGreaterThan(0);
        // A newer KEDA never drops support for a newer Kubernetes.
        expect(cmp(newer.kubernetes[1], r.kubernetes[1]), newer.minor).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it("answers which releases support a Kubernetes minor", () => {
    expect(kedaReleasesSupporting("1.31").map((r) => r.chart)).toEqual(["2.18.3", "2.17.2", "2.16.1"]);
    expect(kedaReleasesSupporting("1.35").map((r) => r.chart)).toEqual(["2.20.2"]);
    expect(kedaReleasesSupporting("1.20")).toEqual([]);
    expect(kedaReleaseFor("2.14.0")?.kubernetes).toEqual(["1.27", "1.29"]);
    expect(kedaReleaseFor("2.9.0")).toBeUndefined();
  });

  it("reads the cluster's minor from GKE and EKS versions only", () => {
    expect(clusterKubernetesMinor("eks", { version: "1.31" })).toBe("1.31");
    expect(clusterKubernetesMinor("gke", { version: "1.32.4-gke.1106006" })).toBe("1.32");
    expect(clusterKubernetesMinor("gke", { version: "latest" })).toBeUndefined();
    expect(clusterKubernetesMinor("gke", {})).toBeUndefined();
    expect(clusterKubernetesMinor("kubernetes", { version: "1.31" })).toBeUndefined();
  });
});

describe("keda.version", () => {
  it("defaults to the newest KEDA supporting the cluster's version, or the newest of all when unknown", () => {
    expect(parseConfig(eksRaw()).keda.version).toBe("2.18.3");
    expect(parseConfig(withValue(eksRaw(), "cluster.version", "1.29")).keda.version).toBe("2.16.1");
    expect(parseConfig(withValue(gkeRaw(), "cluster.version", "1.33.1-gke.1000")).keda.version).toBe("2.20.2");
    expect(parseConfig(gkeRaw()).keda.version).toBe(KEDA_RELEASES[0]!.chart);
    expect(parseConfig(withValue(eksRaw(), "cluster.version", undefined)).keda.version).toBe(KEDA_RELEASES[0]!.chart);
    expect(parseConfig(kubernetesRaw()).keda.version).toBe(KEDA_RELEASES[0]!.chart);
  });

  it("an explicit version that supports the cluster is kept", () => {
    expect(parseConfig(withValue(eksRaw(), "keda.version", "2.16.1")).keda.version).toBe("2.16.1");
  });

  it("an explicit version that does not support the cluster names both and the versions that do", () => {
    expect(problemsOf(withValue(eksRaw(), "keda.version", "2.14.0"))).toEqual([
      "sie-fleet:keda.version: KEDA 2.14.0 supports Kubernetes 1.27 to 1.29, not the cluster's 1.31 (cluster.version) (versions that support 1.31: 2.18.3, 2.17.2, 2.16.1; or remove keda.version to get 2.18.3)",
    ]);
  });

  it("a version outside the table is refused while KEDA is installed, and ignored when not", () => {
    expect(problemsOf(withValue(eksRaw(), "keda.version", "2.9.0"))).toEqual([
      expect.stringMatching(
        /^sie-fleet:keda\.version: KEDA 2\.9\.0 is not in sie-fleet's KEDA table .*\(use 2\.18\.3, 2\.17\.2, 2\.16\.1 or remove keda\.version\)$/,
      ),
    ]);
    const notInstalled = withValue(withValue(eksRaw(), "keda.install", false), "keda.version", "2.9.0");
    expect(parseConfig(notInstalled).keda.version).toBe("2.9.0");
  });

  it("a cluster version no KEDA in the table supports is an error when KEDA is installed", () => {
    expect(problemsOf(withValue(eksRaw(), "cluster.version", "1.40"))).toEqual([
      expect.stringMatching(/^sie-fleet:keda\.version: no KEDA release in sie-fleet's table supports Kubernetes 1\.40 \(cluster\.version\)/),
    ]);
    expect(parseConfig(withValue(withValue(eksRaw(), "cluster.version", "1.40"), "keda.install", false)).keda.version).toBe(KEDA_RELEASES[0]!.chart);
  });

  it("must look like a chart version", () => {
    expect(problemsOf(withValue(eksRaw(), "keda.version", "latest"))).toEqual([
      expect.stringMatching(/^sie-fleet:keda\.version: must be a kedacore\/keda chart version/),
    ]);
  });

  it("the eks-prod stack (Kubernetes 1.31) gets KEDA 2.18", async () => {
    const { load } = await import("js-yaml");
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const eks = load(readFileSync(join(import.meta.dirname, "../../../stacks/Pulumi.eks-prod.yaml"), "utf8")) as { config: Raw };
    expect(parseConfig(eks.config).keda).toMatchObject({ install: true, version: "2.18.3" });
  });
});
