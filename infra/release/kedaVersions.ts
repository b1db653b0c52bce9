// Which KEDA to install on a cluster of a given Kubernetes version. KEDA tests each release on a
// window of Kubernetes minors ("N-2"); outside it the operator may use APIs the cluster lacks.
// Pure (no @pulumi imports): config validation picks and checks keda.version with it.
import type { IssuePath, Report } from "../config/configReport.js";
import type { EksClusterConfig, GkeClusterConfig, Platform } from "../config/configSchema.js";

export interface KedaRelease {
  /** KEDA minor, e.g. "2.18". */
  minor: string;
  /** The newest kedacore/keda chart of that minor (what keda.version defaults to). */
  chart: string;
  /** Oldest and newest Kubernetes minor KEDA tested the release on. */
  kubernetes: readonly [string, string];
}

/**
 * Newest first. Kubernetes windows: KEDA's compatibility matrix, "Kubernetes Compatibility" in
 * https://keda.sh/docs/2.22/operate/cluster/ (the 2.22 page lists 2.21 as 1.34-1.36; 2.21 has no
 * chart release yet, so it is not here). Chart versions: the newest `keda` chart of each minor in
 * the kedacore/charts repository (https://kedacore.github.io/charts). Add a row when KEDA releases
 * a minor; test/unit/infra/kedaVersions.test.ts checks the table's shape.
 */
export const KEDA_RELEASES: readonly KedaRelease[] = [
  { minor: "2.20", chart: "2.20.2", kubernetes: ["1.33", "1.35"] },
  { minor: "2.19", chart: "2.19.0", kubernetes: ["1.32", "1.34"] },
  { minor: "2.18", chart: "2.18.3", kubernetes: ["1.31", "1.33"] },
  { minor: "2.17", chart: "2.17.2", kubernetes: ["1.30", "1.32"] },
  { minor: "2.16", chart: "2.16.1", kubernetes: ["1.29", "1.31"] },
  { minor: "2.15", chart: "2.15.2", kubernetes: ["1.28", "1.30"] },
  { minor: "2.14", chart: "2.14.3", kubernetes: ["1.27", "1.29"] },
  { minor: "2.13", chart: "2.13.2", kubernetes: ["1.27", "1.29"] },
];

/** "1.31", "1.31.4-gke.1000", "v1.31" → [1, 31]; "latest" or anything else → undefined. */
function parseMinor(version: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:$|[.-])/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function compareMinor(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

export function supportsKubernetes(release: KedaRelease, kubernetesMinor: string): boolean {
  const k = parseMinor(kubernetesMinor);
  const lo = parseMinor(release.kubernetes[0]);
  const hi = parseMinor(release.kubernetes[1]);
  return !!k && !!lo && !!hi && compareMinor(k, lo) >= 0 && compareMinor(k, hi) <= 0;
}

/** The table's row for a chart version (by its minor). */
export function kedaReleaseFor(chartVersion: string): KedaRelease | undefined {
  const v = parseMinor(chartVersion);
  return v ? KEDA_RELEASES.find((r) => r.minor === `${v[0]}.${v[1]}`) : undefined;
}

/**
 * KEDA 2.17 added ScaledObject `fallback.behavior` (static, the default and the only behaviour
 * before; currentReplicas; currentReplicasIfHigher; currentReplicasIfLower): see "fallback" in
 * https://keda.sh/docs/2.17/reference/scaledobject-spec/. kedacore/keda chart versions follow KEDA's.
 */
const FALLBACK_BEHAVIOR_SINCE: [number, number] = [2, 17];

/** Whether the KEDA of a kedacore/keda chart version honours `fallback.behavior`. */
export function kedaHasFallbackBehavior(chartVersion: string): boolean {
  const v = parseMinor(chartVersion);
  return !!v && compareMinor(v, FALLBACK_BEHAVIOR_SINCE) >= 0;
}

/** Releases that support a Kubernetes minor, newest first. */
export function kedaReleasesSupporting(kubernetesMinor: string): KedaRelease[] {
  return KEDA_RELEASES.filter((r) => supportsKubernetes(r, kubernetesMinor));
}

/**
 * The cluster's Kubernetes minor as the stack states it (GKE `version` = minMasterVersion, EKS
 * `version`), or undefined when the stack does not say (another platform, GKE "latest" or unset).
 */
export function clusterKubernetesMinor(platform: Platform, cluster: unknown): string | undefined {
  if (platform !== "gke" && platform !== "eks") return undefined;
  const version = (cluster as GkeClusterConfig | EksClusterConfig | undefined)?.version;
  const minor = version ? parseMinor(version) : undefined;
  return minor ? `${minor[0]}.${minor[1]}` : undefined;
}

const VERSION_PATH: IssuePath = ["keda", "version"];

/**
 * keda.version after defaults: the explicit one, else the newest KEDA in the table that supports
 * the cluster's Kubernetes minor (the table's newest when the stack does not state one). When KEDA
 * is installed, an explicit version must support that minor, and the minor must have a KEDA.
 */
export function resolveKedaVersion(keda: { install: boolean; version?: string | undefined }, kubernetesMinor: string | undefined, report: Report): string {
  const newest = KEDA_RELEASES[0]!;
  const supporting = kubernetesMinor ? kedaReleasesSupporting(kubernetesMinor) : [...KEDA_RELEASES];
  const clusterKey = "cluster.version";
  if (keda.version === undefined) {
    const pick = supporting[0];
    if (!pick && keda.install) {
      report(
        VERSION_PATH,
        `no KEDA release in sie-fleet's table supports Kubernetes ${kubernetesMinor} (${clusterKey}); it covers ${KEDA_RELEASES.at(-1)!.kubernetes[0]} to ${newest.kubernetes[1]}`,
        `pick a cluster version in that range, or set keda.install false and install KEDA yourself`,
      );
    }
    return (pick ?? newest).chart;
  }
  if (!keda.install) return keda.version;
  const release = kedaReleaseFor(keda.version);
  if (!release) {
    report(
      VERSION_PATH,
      `KEDA ${keda.version} is not in sie-fleet's KEDA table (minors ${KEDA_RELEASES.map((r) => r.minor).join(", ")}), so its Kubernetes support is unknown`,
      supporting.length > 0 ? `use ${supporting.map((r) => r.chart).join(", ")} or remove keda.version` : "remove keda.version",
    );
  } else if (kubernetesMinor && !supportsKubernetes(release, kubernetesMinor)) {
    report(
      VERSION_PATH,
      `KEDA ${keda.version} supports Kubernetes ${release.kubernetes[0]} to ${release.kubernetes[1]}, not the cluster's ${kubernetesMinor} (${clusterKey})`,
      supporting.length > 0
        ? `versions that support ${kubernetesMinor}: ${supporting.map((r) => r.chart).join(", ")}; or remove keda.version to get ${supporting[0]!.chart}`
        : `no KEDA release in the table supports ${kubernetesMinor}`,
    );
  }
  return keda.version;
}
