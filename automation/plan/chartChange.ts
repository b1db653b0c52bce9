// What a chart upgrade (`--chart-version`) changes inside the release, object by object, from Helm
// rendering the current and the target chart with the stack's values, and whether sie-fleet can roll
// it out in health-gated waves. Like `helm diff`, but the verdict is a guardrail.
import { chartBaseDir, resolveChart } from "../../infra/release/chartSource.js";
import type { FleetConfig } from "../../infra/config/configTypes.js";
import { buildReleaseValues } from "../../infra/release/releaseValues.js";
import { helmTemplate, type RenderedObject } from "./helmTemplate.js";

/** `Kind/name` of an object the chart renders. */
export type ObjectRef = string;

export interface ChartChange {
  from: string;
  to: string;
  added: ObjectRef[];
  removed: ObjectRef[];
  /** Objects in both with different content, and the paths that differ (at most 8 each). */
  changed: { object: ObjectRef; paths: string[] }[];
  verdict: ChartVerdict;
}

export interface ChartVerdict {
  allowed: boolean;
  /** Stable rule id: "chart-in-place", "chart-replaces-workloads", "chart-forced". */
  rule: string;
  reason: string;
}

/** Kinds whose appearing or disappearing starts or stops pods outside any wave. */
const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);
const MAX_PATHS = 8;

const refOf = (o: RenderedObject): ObjectRef => `${o.kind}/${o.metadata.name}`;

/** Leaf paths where `a` and `b` differ (objects key by key, arrays index by index). */
export function differingPaths(a: unknown, b: unknown, at = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => differingPaths(a[k], b[k], at ? `${at}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((v, i) => differingPaths(v, b[i], `${at}[${i}]`));
  return [at || "(root)"];
}

export function diffObjects(before: RenderedObject[], after: RenderedObject[]): Pick<ChartChange, "added" | "removed" | "changed"> {
  const old = new Map(before.map((o) => [refOf(o), o]));
  const neu = new Map(after.map((o) => [refOf(o), o]));
  const changed: ChartChange["changed"] = [];
  for (const [ref, o] of neu) {
    const prev = old.get(ref);
    if (!prev) continue;
    const paths = differingPaths(prev, o);
    if (paths.length > 0)
      changed.push({ object: ref, paths: paths.length > MAX_PATHS ? [...paths.slice(0, MAX_PATHS), `… ${paths.length - MAX_PATHS} more`] : paths });
  }
  return {
    added: [...neu.keys()].filter((r) => !old.has(r)).sort(),
    removed: [...old.keys()].filter((r) => !neu.has(r)).sort(),
    changed: changed.sort((x, y) => x.object.localeCompare(y.object)),
  };
}

/**
 * A chart upgrade rolls out in waves when it changes existing objects in place: the waves hold
 * and release the same StatefulSets and Deployments as an image upgrade. One that adds or removes
 * workloads starts or stops pods outside every wave and gate (a renamed gateway would come up
 * untested while the old one is deleted), so it is refused unless forced.
 */
export function judgeChartChange(diff: Pick<ChartChange, "from" | "to" | "added" | "removed" | "changed">, force: boolean): ChartVerdict {
  const kindOf = (r: ObjectRef) => r.slice(0, r.indexOf("/"));
  const workloadsAdded = diff.added.filter((r) => WORKLOAD_KINDS.has(kindOf(r)));
  const workloadsRemoved = diff.removed.filter((r) => WORKLOAD_KINDS.has(kindOf(r)));
  const summary = `${diff.changed.length} object(s) changed in place, ${diff.added.length} added, ${diff.removed.length} removed`;
  if (workloadsAdded.length > 0 || workloadsRemoved.length > 0) {
    const what = [workloadsRemoved.length ? `removes ${workloadsRemoved.join(", ")}` : "", workloadsAdded.length ? `adds ${workloadsAdded.join(", ")}` : ""]
      .filter(Boolean)
      .join(" and ");
    const reason = `chart ${diff.from} → ${diff.to} ${what}: those pods would start or stop outside the health-gated waves (${summary})`;
    return force ? { allowed: true, rule: "chart-forced", reason: `forced: ${reason}` } : { allowed: false, rule: "chart-replaces-workloads", reason };
  }
  return {
    allowed: true,
    rule: "chart-in-place",
    reason: `chart ${diff.from} → ${diff.to}: ${summary}; no workload added or removed, so it rolls out in the usual waves`,
  };
}

/** Values as the release gets them; any token renders the same objects as the real one. */
function renderValues(cfg: FleetConfig): Record<string, unknown> {
  const values = buildReleaseValues(cfg) as Record<string, unknown>;
  if (cfg.hasHfToken) values.hfToken = { ...(values.hfToken as object), value: "(secret)" };
  return values;
}

export interface ChartChangeRequest {
  config: FleetConfig;
  /** The config the upgrade sets: the new chart version and image tag. */
  target: FleetConfig;
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  force: boolean;
}

export async function chartChange(req: ChartChangeRequest): Promise<ChartChange> {
  const base = chartBaseDir(req.projectDir, req.env);
  const render = (cfg: FleetConfig) =>
    helmTemplate({ chart: resolveChart(cfg.release, base), releaseName: cfg.release.releaseName, namespace: cfg.release.namespace, values: renderValues(cfg) });
  const [before, after] = [await render(req.config), await render(req.target)];
  const diff = {
    from: req.config.release.version ?? req.config.release.chart,
    to: req.target.release.version ?? req.target.release.chart,
    ...diffObjects(before, after),
  };
  return { ...diff, verdict: judgeChartChange(diff, req.force) };
}
