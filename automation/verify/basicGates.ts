// The checks every wave and the final verification run: rollouts complete (kubectl's rules),
// the gateway ready, an encode request served with the expected version header. The
// verification suite (metric gates, KEDA, Prometheus) adds its checks next to these.
import type { GateResult } from "../types.js";
import type { KubeClient } from "../kube/index.js";
import { checkPods, rolloutStatus, newRevisionPods } from "../kube/index.js";
import type { ReleaseNames } from "../actions/context.js";

async function timed(name: string, fn: () => Promise<Omit<GateResult, "name" | "durationMs">>): Promise<GateResult> {
  const start = Date.now();
  try {
    return { name, ...(await fn()), durationMs: Date.now() - start };
  } catch (err) {
    return { name, status: "fail", message: (err as Error).message, evidence: {}, durationMs: Date.now() - start };
  }
}

export function workloads(names: ReleaseNames, pools?: readonly string[]): { kind: "StatefulSet" | "Deployment"; name: string }[] {
  const sts = Object.entries(names.statefulSets)
    .filter(([pool]) => pools === undefined || pools.includes(pool))
    .map(([, name]) => ({ kind: "StatefulSet" as const, name }));
  return [...sts, { kind: "Deployment", name: names.gatewayDeployment }, { kind: "Deployment", name: names.configDeployment }];
}

/** Every workload fully rolled out with no failing pod (no waiting: a snapshot of now). */
export async function rolloutGates(kube: KubeClient, names: ReleaseNames): Promise<GateResult[]> {
  return Promise.all(
    workloads(names).map((w) =>
      timed(`rollout:${w.kind}/${w.name}`, async () => {
        const obj = w.kind === "StatefulSet" ? await kube.api.getStatefulSet(names.namespace, w.name) : await kube.api.getDeployment(names.namespace, w.name);
        const st = rolloutStatus(obj, w.kind);
        const { pods } = await newRevisionPods(kube.api, names.namespace, obj, w.kind);
        const failing = checkPods(pods, { now: Date.now(), notReadyAfterMs: 0 });
        const spec = obj.spec as { updateStrategy?: { rollingUpdate?: { partition?: number } }; paused?: boolean } | undefined;
        const held = w.kind === "StatefulSet" ? (spec?.updateStrategy?.rollingUpdate?.partition ?? 0) > 0 : spec?.paused === true;
        const ok = st.done && failing.length === 0 && !held;
        return {
          status: ok ? "pass" : "fail",
          message: held ? `${w.kind} ${w.name} is held (partition/paused) by an unfinished run` : st.reason,
          evidence: { done: st.done, held, ...(failing.length ? { pods: failing } : {}) },
        };
      }),
    ),
  );
}

export interface EndpointGateOptions {
  gatewayUrl: string;
  /** The version the gateway must report, e.g. "0.3.2" (X-SIE-Server-Version). */
  expectVersion?: string;
  timeoutMs?: number;
  /** Encode requests in the smoke test (default 10). */
  requests?: number;
}

export async function endpointGates(opts: EndpointGateOptions): Promise<GateResult[]> {
  const base = opts.gatewayUrl.replace(/\/$/, "");
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  const readyz = timed("gateway-readyz", async () => {
    const r = await fetch(`${base}/readyz`, { signal });
    const body = await r.text();
    return { status: r.status === 200 ? "pass" : "fail", message: `GET /readyz → ${r.status}`, evidence: { url: `${base}/readyz`, status: r.status, body: body.slice(0, 200) } };
  });
  const encode = timed("encode-smoke", async () => {
    const models = (await (await fetch(`${base}/v1/models`, { signal })).json()) as { data?: { id: string }[]; models?: { name: string }[] } | { id: string }[];
    const list = Array.isArray(models) ? models.map((m) => m.id) : (models.data?.map((m) => m.id) ?? models.models?.map((m) => m.name) ?? []);
    const model = list[0];
    if (!model) return { status: "fail", message: "GET /v1/models returned no model", evidence: { url: `${base}/v1/models` } };
    const url = `${base}/v1/encode/${encodeURIComponent(model)}`;
    // Several requests, because the gateway spreads them over the ready workers of every pool:
    // one bad pool among healthy ones shows up as a share of failures.
    const statuses: number[] = [];
    const versions = new Set<string>();
    for (let i = 0; i < (opts.requests ?? 10); i++) {
      const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ items: [{ text: "sie-fleet verification" }] }), signal });
      await r.arrayBuffer();
      statuses.push(r.status);
      const v = r.headers.get("x-sie-server-version");
      if (v) versions.add(v);
    }
    const failed = statuses.filter((st) => st !== 200).length;
    const version = [...versions].join(",");
    const versionOk = opts.expectVersion === undefined || (versions.size === 1 && versions.has(opts.expectVersion));
    return {
      status: failed === 0 && versionOk ? "pass" : "fail",
      message: failed > 0 ? `POST encode: ${failed}/${statuses.length} requests failed (${[...new Set(statuses)].join(", ")})` : versionOk ? `POST encode → 200 ×${statuses.length}, version ${version}` : `X-SIE-Server-Version is ${version}, expected ${opts.expectVersion}`,
      evidence: { url, statuses, ...(version ? { version } : {}), ...(opts.expectVersion ? { expected: opts.expectVersion } : {}) },
    };
  });
  return Promise.all([readyz, encode]);
}

/** "v0.3.2-errors10" → "0.3.2": what SIE reports in X-SIE-Server-Version. */
export function serverVersion(tag: string): string {
  return tag.replace(/^v/, "");
}
