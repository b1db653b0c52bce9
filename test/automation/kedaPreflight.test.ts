// The upgrade's KEDA preflight, by hand: ScaledObjects with the status the KEDA operator writes
// (conditions initialised to Unknown, then Ready/Active/Fallback/Paused with KEDA's reasons, and
// status.health keyed by metric name), judged into a refusal (exit 4), a warning or a pass. With
// autoscaling on, ScaledObjects it cannot see (missing, or no keda.sh API) refuse too; a rollback
// only warns, in the preflight, the final verification and after the thaw.
import { describe, expect, it } from "vitest";
import { KedaRefusedError, kedaGate, preflightKeda } from "../../automation/actions/upgrade/preflightKeda.js";
import { kedaAfterThaw, kedaGatesFor } from "../../automation/actions/upgrade/verification.js";
import type { StackContext } from "../../automation/actions/context.js";
import { kedaLines, renderUpgradeResult } from "../../automation/cli/render.js";
import { EXIT_CODES } from "../../core/errors.js";
import { ProgressEmitter } from "../../automation/events/emitter.js";
import { memoryReporter } from "../../automation/events/memory.js";
import { JOURNAL_ACTIONS, type Journal } from "../../automation/journal/journal.js";
import type { KubeObjectLike } from "../../automation/kube/index.js";
import { describeScaledObject } from "../../automation/kube/kedaStatus.js";
import { judgeKeda, KEDA_RULE, type KedaPreflightReport } from "../../automation/plan/kedaPolicy.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { kedaCheck } from "../../automation/verify/kedaCheck.js";
import type { VerifyContext } from "../../automation/verify/types.js";

const NS = "sie";
const sts = (pool: string) => `sie-sie-cluster-worker-${pool}`;
const soName = (pool: string) => `${sts(pool)}-scaler`;

const READY = { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "ScaledObject is defined correctly and is ready for scaling" };
const NOT_ACTIVE = { type: "Active", status: "False", reason: "ScalerNotActive", message: "Scaling is not performed because triggers are not active" };
const NO_FALLBACK = { type: "Fallback", status: "False", reason: "NoFallbackFound", message: "No fallbacks are active on this scaled object" };
const FALLBACK = { type: "Fallback", status: "True", reason: "FallbackExists", message: "At least one trigger is falling back on this scaled object" };
const NOT_PAUSED = { type: "Paused", status: "False", reason: "ScaledObjectUnpaused", message: "ScaledObject is not paused" };
const happy = { numberOfFailures: 0, status: "Happy" };
const HEALTHY = { "s0-prometheus": happy, "s1-prometheus": happy, "s2-prometheus": happy, "s3-prometheus": happy };

/** A ScaledObject of the release as Pulumi creates it; `status` as the KEDA operator wrote it, if at all. */
function scaledObject(pool: string, status?: Record<string, unknown>): KubeObjectLike {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: soName(pool), namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: sts(pool) },
      fallback: { failureThreshold: 3, replicas: 2 },
      triggers: [{ type: "prometheus", name: "pending-demand", metadata: {} }],
    },
    ...(status ? { status } : {}),
  };
}

const healthy = (pool: string) =>
  scaledObject(pool, {
    scaleTargetKind: "apps/v1.StatefulSet",
    hpaName: `keda-hpa-${soName(pool)}`,
    conditions: [READY, NOT_ACTIVE, NO_FALLBACK, NOT_PAUSED],
    health: HEALTHY,
  });

/** Prometheus down for more than failureThreshold polls: KEDA holds the pool at fallback.replicas. */
const inFallback = (pool: string) =>
  scaledObject(pool, {
    conditions: [READY, NOT_ACTIVE, FALLBACK, NOT_PAUSED],
    health: { ...HEALTHY, "s1-prometheus": { numberOfFailures: 5, status: "Failing" } },
  });

/** Every trigger erroring: Ready False with KEDA's TriggerError. */
const triggerError = (pool: string) =>
  scaledObject(pool, {
    conditions: [
      { type: "Ready", status: "False", reason: "TriggerError", message: "Triggers defined in ScaledObject are not working correctly" },
      NOT_ACTIVE,
      NO_FALLBACK,
      NOT_PAUSED,
    ],
  });

/** Failing reads not yet past failureThreshold: no Fallback, Ready still True. */
const failingTrigger = (pool: string) =>
  scaledObject(pool, {
    conditions: [READY, NOT_ACTIVE, NO_FALLBACK, NOT_PAUSED],
    health: { ...HEALTHY, "s0-prometheus": { numberOfFailures: 2, status: "Failing" } },
  });

const judge = (
  objects: KubeObjectLike[],
  opts: { installsKeda?: boolean; force?: boolean; expected?: string[]; autoscaling?: boolean; kedaApiMissing?: boolean } = {},
) =>
  judgeKeda(objects.map(describeScaledObject), {
    installsKeda: opts.installsKeda ?? false,
    autoscaling: opts.autoscaling ?? true,
    expected: opts.expected ?? [],
    kedaApiMissing: opts.kedaApiMissing ?? false,
    override: opts.force ? "--force" : undefined,
  });

describe("describeScaledObject", () => {
  it("reads the conditions, the failing triggers and whether an operator ever wrote a status", () => {
    expect(describeScaledObject(inFallback("l4"))).toMatchObject({
      name: soName("l4"),
      target: sts("l4"),
      ready: "True",
      fallback: "True",
      fallbackReason: "FallbackExists",
      reconciled: true,
      failing: [{ metric: "s1-prometheus", failures: 5 }],
      pausedReplicas: null,
    });
    expect(describeScaledObject(scaledObject("l4"))).toMatchObject({ ready: "Unknown", fallback: "Unknown", reconciled: false, failing: [] });
  });
});

describe("judgeKeda", () => {
  it("passes ScaledObjects that are Ready, not in Fallback, with every trigger Happy", () => {
    const r = judge([healthy("l4"), healthy("a100")], { installsKeda: true });
    expect(r).toMatchObject({ refusing: [], unreconciled: [], forced: false });
    expect(kedaGate(r)).toMatchObject({ name: "keda", status: "pass", message: "2 ScaledObject(s), none in Fallback, not Ready or with a trigger failing" });
  });

  it("refuses Fallback=True, naming the ScaledObject, KEDA's reason and message and the failing trigger", () => {
    const r = judge([healthy("l4"), inFallback("a100")]);
    expect(r.refusing).toEqual([
      {
        scaledObject: soName("a100"),
        problems: [
          "in Fallback (FallbackExists: At least one trigger is falling back on this scaled object)",
          "trigger metric s1-prometheus Failing (5 failed read(s))",
        ],
      },
    ]);
    expect(kedaGate(r)).toMatchObject({ status: "fail" });
  });

  it("refuses Ready=False (every trigger erroring)", () => {
    expect(judge([triggerError("l4")]).refusing).toEqual([
      { scaledObject: soName("l4"), problems: ["Ready=False (TriggerError: Triggers defined in ScaledObject are not working correctly)"] },
    ]);
  });

  it("refuses Ready=Unknown with PartialTriggerError (some triggers erroring), but not the Unknown KEDA initialises", () => {
    const partial = scaledObject("l4", {
      conditions: [
        { type: "Ready", status: "Unknown", reason: "PartialTriggerError", message: "Some triggers defined in ScaledObject are not working correctly" },
        NOT_ACTIVE,
        NO_FALLBACK,
      ],
    });
    expect(judge([partial]).refusing[0]?.problems).toEqual([
      "Ready=Unknown (PartialTriggerError: Some triggers defined in ScaledObject are not working correctly)",
    ]);
    const initialised = scaledObject("l4", { conditions: ["Ready", "Active", "Fallback", "Paused"].map((type) => ({ type, status: "Unknown" })) });
    expect(judge([initialised]).refusing).toEqual([]);
  });

  it("refuses a trigger whose metric reads are failing before the Fallback threshold", () => {
    expect(judge([failingTrigger("l4")]).refusing).toEqual([
      { scaledObject: soName("l4"), problems: ["trigger metric s0-prometheus Failing (2 failed read(s))"] },
    ]);
  });

  it("no status at all on a stack that does not install KEDA: a warning that autoscaling is not live, not a pass", () => {
    const r = judge([scaledObject("l4"), scaledObject("a100")], { installsKeda: false });
    expect(r).toMatchObject({ refusing: [], unreconciled: [soName("l4"), soName("a100")] });
    const gate = kedaGate(r);
    expect(gate.status).toBe("warn");
    expect(gate.message).toMatch(/^KEDA is not reconciling ScaledObjects: .*-l4-scaler, .*-a100-scaler have no status conditions .*keda\.install: false/);
  });

  it("no status where an operator should run refuses: the stack installs KEDA, or it reconciles the release's other ScaledObjects", () => {
    expect(judge([scaledObject("l4")], { installsKeda: true }).refusing).toEqual([
      { scaledObject: soName("l4"), problems: ["has no status conditions: the KEDA operator this stack installs (keda.install) has not reconciled it"] },
    ]);
    const mixed = judge([healthy("l4"), scaledObject("a100")], { installsKeda: false });
    expect(mixed.unreconciled).toEqual([]);
    expect(mixed.refusing.map((p) => p.scaledObject)).toEqual([soName("a100")]);
  });

  it("with autoscaling on, an expected ScaledObject that is missing refuses, naming it", () => {
    const r = judge([healthy("l4")], { installsKeda: true, expected: [soName("l4"), soName("a100")] });
    expect(r.missing).toEqual([soName("a100")]);
    expect(r.refusing).toEqual([{ scaledObject: soName("a100"), problems: ["is missing although autoscaling.enabled is true and its pool runs workers"] }]);
    expect(kedaGate(r)).toMatchObject({ status: "fail" });
    // None at all is not "autoscaling off" either.
    expect(judge([], { expected: [soName("l4")] }).refusing.map((p) => p.scaledObject)).toEqual([soName("l4")]);
  });

  it("with autoscaling on, no keda.sh API (404) refuses for every expected ScaledObject", () => {
    const r = judge([], { expected: [soName("l4"), soName("a100")], kedaApiMissing: true });
    expect(r.refusing).toEqual([
      { scaledObject: soName("l4"), problems: ["is missing: the cluster serves no keda.sh API (KEDA's CRDs are not installed)"] },
      { scaledObject: soName("a100"), problems: ["is missing: the cluster serves no keda.sh API (KEDA's CRDs are not installed)"] },
    ]);
  });

  it("with autoscaling off, nothing is expected: none found passes as autoscaling off", () => {
    const r = judge([], { autoscaling: false, expected: [soName("l4")], kedaApiMissing: true });
    expect(r).toMatchObject({ refusing: [], missing: [] });
    expect(kedaGate(r)).toMatchObject({ status: "pass", message: "no ScaledObjects for the release (autoscaling off)" });
  });

  it("--force turns the refusal into a warning gate", () => {
    const r = judge([inFallback("l4")], { force: true });
    expect(r.forced).toBe(true);
    expect(kedaGate(r)).toMatchObject({ status: "warn", message: expect.stringMatching(/in Fallback .*\(overridden by --force\)$/) });
  });
});

describe("KedaRefusedError", () => {
  it("is exit 4 with rule keda-unhealthy, names every ScaledObject and gives the way out", () => {
    const err = new KedaRefusedError(judge([inFallback("l4"), triggerError("a100")]), {
      stack: "prod",
      namespace: NS,
      config: {
        autoscaling: {},
        monitoring: { prometheus: { inClusterUrl: "http://prometheus-operated.monitoring.svc.cluster.local:9090" } },
        keda: { install: true, namespace: "keda" },
      } as never,
    });
    expect(err).toMatchObject({ code: KEDA_RULE, exitCode: EXIT_CODES.refused });
    expect(err.message).toMatch(new RegExp(`ScaledObject ${soName("l4")} in Fallback \\(FallbackExists: `));
    expect(err.message).toMatch(new RegExp(`ScaledObject ${soName("a100")} Ready=False \\(TriggerError: `));
    expect(err.message).toMatch(/nothing was changed$/);
    expect(err.hint).toContain("Prometheus at http://prometheus-operated.monitoring.svc.cluster.local:9090");
    expect(err.hint).toContain("kubectl logs -n keda deploy/keda-operator");
    expect(err.hint).toContain(`kubectl get scaledobject -n ${NS}`);
    expect(err.hint).toContain("--force");
    expect(err.hint).not.toContain("sie-fleet up");
  });

  it("the Prometheus in the hint: monitoring's, else autoscaling.prometheusAddress, never undefined", () => {
    const hint = (config: object) =>
      new KedaRefusedError(judge([inFallback("l4")]), {
        stack: "prod",
        namespace: NS,
        config: { keda: { install: true, namespace: "keda" }, ...config } as never,
      }).hint;
    expect(
      hint({ autoscaling: { prometheusAddress: "http://127.0.0.1:9090" }, monitoring: { prometheus: { inClusterUrl: "http://127.0.0.1:9090" } } }),
    ).toContain("Prometheus at http://127.0.0.1:9090");
    expect(hint({ autoscaling: { prometheusAddress: "http://prom.example:9090" }, monitoring: {} })).toContain("Prometheus at http://prom.example:9090");
    const none = hint({ autoscaling: {}, monitoring: {} });
    expect(none).not.toContain("undefined");
    expect(none).toContain("check the Prometheus (the triggers' server)");
  });

  it("missing ScaledObjects or KEDA CRDs: the hint says how to get them back", () => {
    const err = new KedaRefusedError(judge([], { expected: [soName("l4")], kedaApiMissing: true }), {
      stack: "prod",
      namespace: NS,
      config: { autoscaling: {}, monitoring: {}, keda: { install: false, namespace: "keda" } } as never,
    });
    expect(err.message).toContain(`ScaledObject ${soName("l4")} is missing: the cluster serves no keda.sh API`);
    expect(err.hint).toContain("install KEDA's CRDs");
    expect(err.hint).toContain("sie-fleet up --stack prod");
    expect(err.hint).not.toContain("deploy/keda-operator");
  });
});

/**
 * A stack context with just what the KEDA preflight reads: autoscaling on, pools l4 and a100 with
 * workers. `objects` "404" stands for a cluster without the keda.sh API.
 */
function stack(objects: KubeObjectLike[] | "404", install: boolean, autoscaling = true): StackContext {
  return {
    open: { name: "local" },
    names: { namespace: NS, fullname: "sie-sie-cluster", gatewayDeployment: "gw", configDeployment: "cfg", statefulSets: { l4: sts("l4"), a100: sts("a100") } },
    config: {
      keda: { install, namespace: "keda", version: "2.14.0" },
      autoscaling: { enabled: autoscaling, prometheusAddress: "http://127.0.0.1:9090" },
      monitoring: { prometheus: { source: "autoscaling.prometheusAddress", inClusterUrl: "http://127.0.0.1:9090" } },
    },
    kube: {
      api: {
        listCustomObjects: async () => {
          if (objects === "404") throw Object.assign(new Error("the server could not find the requested resource"), { code: 404 });
          return objects;
        },
      },
    },
  } as unknown as StackContext;
}

function recorder() {
  const decisions: { action: string; message?: string }[] = [];
  const journal = { decision: async (_phase: string, action: string, opts: { message?: string }) => void decisions.push({ action, message: opts.message }) };
  const reporter = memoryReporter();
  return { decisions, journal: journal as unknown as Journal, reporter, emit: new ProgressEmitter(reporter, "run") };
}

describe("preflightKeda", () => {
  it("judges only the release's ScaledObjects, journals the decision and returns the refusal", async () => {
    const { decisions, journal, emit, reporter } = recorder();
    const other = { ...inFallback("x"), spec: { scaleTargetRef: { name: "someone-else" } } };
    const out = await preflightKeda(stack([healthy("l4"), inFallback("a100"), other], true), { force: false }, emit, journal);
    expect(out.report.missing).toEqual([]);
    expect(out.refusal).toBeInstanceOf(KedaRefusedError);
    expect(out.report.scaledObjects.map((s) => s.name)).toEqual([soName("a100"), soName("l4")]);
    expect(decisions).toEqual([{ action: JOURNAL_ACTIONS.preflightKeda, message: expect.stringMatching(/^refused: ScaledObject .*-a100-scaler in Fallback/) }]);
    expect(reporter.events.find((e) => e.kind === "gate")).toMatchObject({ phase: "preflight", gate: { name: "keda", status: "fail" } });
  });

  it("forced: no refusal, a warning in the output and the override in the journal", async () => {
    const { decisions, journal, emit, reporter } = recorder();
    const out = await preflightKeda(stack([inFallback("l4")], true), { force: true }, emit, journal);
    expect(out.refusal).toBeUndefined();
    expect(decisions[0]?.message).toMatch(/^KEDA problems overridden by --force: ScaledObject .*-l4-scaler in Fallback/);
    expect(reporter.events).toContainEqual(expect.objectContaining({ kind: "log", level: "warn", message: decisions[0]?.message }));
  });

  it("no operator on a stack that does not install KEDA (the embedded cluster): goes on with a warning line", async () => {
    const { journal, emit, reporter } = recorder();
    const out = await preflightKeda(stack([scaledObject("l4"), scaledObject("a100")], false), { force: false }, emit, journal);
    expect(out.refusal).toBeUndefined();
    const warning = reporter.events.find((e) => e.kind === "log" && e.level === "warn");
    expect(warning?.message).toMatch(/^KEDA is not reconciling ScaledObjects: /);
  });

  it("with autoscaling on, a deleted ScaledObject or no KEDA CRDs refuse; with it off, both pass", async () => {
    const { journal, emit } = recorder();
    const deleted = await preflightKeda(stack([healthy("l4")], true), { force: false }, emit, journal);
    expect(deleted.refusal?.message).toMatch(/ScaledObject sie-sie-cluster-worker-a100-scaler is missing although autoscaling\.enabled is true/);
    expect(deleted.refusal?.hint).toContain("sie-fleet up --stack local");
    const noCrds = await preflightKeda(stack("404", false), { force: false }, emit, journal);
    expect(noCrds.report).toMatchObject({ kedaApiMissing: true, missing: [soName("l4"), soName("a100")] });
    expect(noCrds.refusal?.hint).toContain("install KEDA's CRDs");
    expect((await preflightKeda(stack("404", false, false), { force: false }, emit, journal)).refusal).toBeUndefined();
    expect((await preflightKeda(stack([], false, false), { force: false }, emit, journal)).refusal).toBeUndefined();
  });

  it("rollback: KEDA problems warn and are journaled as overridden, never refuse", async () => {
    const { decisions, journal, emit, reporter } = recorder();
    const out = await preflightKeda(stack([inFallback("l4")], true), { force: false, rollback: true }, emit, journal);
    expect(out.refusal).toBeUndefined();
    expect(out.report).toMatchObject({ forced: true, overriddenBy: "rollback", missing: [soName("a100")] });
    expect(decisions[0]?.message).toMatch(
      /^KEDA problems not refused for a rollback, the way back when metrics are broken: ScaledObject .*-a100-scaler is missing/,
    );
    expect(reporter.events).toContainEqual(expect.objectContaining({ kind: "log", level: "warn", message: decisions[0]?.message }));
    expect(reporter.events.find((e) => e.kind === "gate")).toMatchObject({ gate: { name: "keda", status: "warn" } });
    expect(kedaLines(out.report)[0]).toBe("keda: broken, not refused for a rollback, the way back when metrics are broken");
  });

  it("the same ScaledObjects refuse when the stack installs KEDA", async () => {
    const { journal, emit } = recorder();
    const out = await preflightKeda(stack([scaledObject("l4")], true), { force: false }, emit, journal);
    expect(out.refusal?.message).toMatch(/-l4-scaler has no status conditions: the KEDA operator this stack installs/);
  });
});

describe("the keda check after the thaw and in the final verification", () => {
  /** The stack stub with what the final verification reads besides the ScaledObjects. */
  const verifiable = (objects: KubeObjectLike[]): StackContext => {
    const sc = stack(objects, true);
    return {
      ...sc,
      config: { ...sc.config, release: { imageTag: "v0.3.1" }, rollout: { gates: { retries: 0, checks: {} } } },
    } as unknown as StackContext;
  };
  const fallbackGate = async () => {
    const gates = await kedaAfterThaw(verifiable([inFallback("l4"), healthy("a100")]), "v0.3.1");
    expect(gates).toMatchObject([{ name: "keda", status: "fail", message: expect.stringMatching(/-l4-scaler in Fallback/) }]);
    return gates;
  };

  it("rollback: a ScaledObject in Fallback (Prometheus down) is a warning gate, a warning line and a journaled decision", async () => {
    const gates = await fallbackGate();
    const { decisions, journal, emit, reporter } = recorder();
    const judged = await kedaGatesFor("rollback", gates, "thaw", emit, journal);
    expect(judged).toMatchObject([
      { name: "keda", status: "warn", message: `${gates[0]?.message} (not refused for a rollback, the way back when metrics are broken)` },
    ]);
    expect(decisions).toEqual([
      {
        action: JOURNAL_ACTIONS.verifyKeda,
        message: `KEDA problems not refused for a rollback, the way back when metrics are broken: ${gates[0]?.message}`,
      },
    ]);
    expect(reporter.events).toContainEqual(expect.objectContaining({ kind: "log", level: "warn", phase: "thaw", message: decisions[0]?.message }));
  });

  it("rollback: only keda failures are excused; other failures and passing keda gates stay as they are, unjournaled", async () => {
    const { decisions, journal, emit } = recorder();
    const other = { name: "gateway-readyz", status: "fail" as const, message: "GET /readyz → 503", evidence: {}, durationMs: 1 };
    const passing = { name: "keda", status: "pass" as const, message: "1 ScaledObject(s) Ready, none in Fallback", evidence: {}, durationMs: 1 };
    expect(await kedaGatesFor("rollback", [other, passing], "verify", emit, journal)).toEqual([other, passing]);
    expect(decisions).toEqual([]);
  });

  it("upgrade: a keda failure still fails (and reverts), with nothing journaled", async () => {
    const gates = await fallbackGate();
    const { decisions, journal, emit, reporter } = recorder();
    expect(await kedaGatesFor("upgrade", gates, "verify", emit, journal)).toEqual(gates);
    expect(decisions).toEqual([]);
    expect(reporter.events.filter((e) => e.kind === "log")).toEqual([]);
  });
});

describe("what people read", () => {
  const refused: KedaPreflightReport = judge([inFallback("l4"), healthy("a100")]);

  it("kedaLines lists each refusing ScaledObject, the forced override, the warning or the pass", () => {
    expect(kedaLines(refused)).toEqual([
      "keda would refuse:",
      `  ✖ ${soName("l4")}: in Fallback (FallbackExists: At least one trigger is falling back on this scaled object); trigger metric s1-prometheus Failing (5 failed read(s))`,
    ]);
    expect(kedaLines({ ...refused, forced: true })[0]).toBe("keda: broken, overridden by --force");
    expect(kedaLines(judge([scaledObject("l4")]))[0]).toMatch(/^⚠ KEDA is not reconciling ScaledObjects: /);
    expect(kedaLines(judge([healthy("l4")]))).toEqual(["keda: ok (1 ScaledObject(s), none in Fallback, not Ready or with a trigger failing)"]);
  });

  it("a refused upgrade shows the rule, the reason, the hint and the ScaledObjects", () => {
    const r: UpgradeResult = {
      outcome: "refused",
      refusedBy: "preflight",
      rule: KEDA_RULE,
      reason: "KEDA cannot autoscale the release from live metrics: …",
      hint: "check Prometheus …",
      keda: refused,
      runId: "r",
      stack: "prod",
      from: "v0.3.1",
      to: "v0.3.2",
      startedAt: "",
      finishedAt: "",
      durationMs: 1000,
      waves: [],
      gates: [],
    };
    const lines = renderUpgradeResult(r);
    expect(lines[0]).toBe("⊘ prod: upgrade to v0.3.2 refused by preflight (keda-unhealthy); nothing was applied");
    expect(lines).toContain("  next: check Prometheus …");
    expect(lines).toContain("keda would refuse:");
  });
});

describe("the verification suite's keda check reads the same way", () => {
  it("fails a ScaledObject in Fallback and waits on one not Ready", async () => {
    const ctx = (objects: KubeObjectLike[]) =>
      ({
        phase: "final",
        names: stack([], false).names,
        kube: { api: { listCustomObjects: async () => objects } },
      }) as unknown as VerifyContext;
    const signal = new AbortController().signal;
    expect(await kedaCheck(ctx([healthy("l4"), inFallback("a100")])).run(signal)).toMatchObject({
      status: "fail",
      message: `ScaledObject ${soName("a100")} in Fallback: At least one trigger is falling back on this scaled object`,
    });
    expect(await kedaCheck(ctx([triggerError("l4")])).run(signal)).toMatchObject({ status: "pending" });
    expect(await kedaCheck(ctx([healthy("l4")])).run(signal)).toMatchObject({ status: "pass" });
  });

  it("with autoscaling on, fails a pool in scope without its ScaledObject, and a cluster without the keda.sh API", async () => {
    const ctx = (objects: KubeObjectLike[] | "404", autoscaling: boolean) =>
      ({
        phase: "final",
        names: stack([], false).names,
        autoscaling,
        kube: { api: stack(objects, false).kube.api },
      }) as unknown as VerifyContext;
    const signal = new AbortController().signal;
    expect(await kedaCheck(ctx([healthy("l4")], true)).run(signal)).toMatchObject({
      status: "fail",
      message: `ScaledObject ${soName("a100")} missing although autoscaling.enabled is true; sie-fleet up recreates it`,
      evidence: { missing: [soName("a100")] },
    });
    expect(await kedaCheck(ctx("404", true)).run(signal)).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/-l4-scaler, .*-a100-scaler missing: the cluster serves no keda\.sh API/),
    });
    expect(await kedaCheck(ctx([healthy("l4"), healthy("a100")], true)).run(signal)).toMatchObject({ status: "pass" });
    // A pool wave looks only at its own pools.
    const wave = { ...ctx([healthy("l4")], true), phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] } } as unknown as VerifyContext;
    expect(await kedaCheck(wave).run(signal)).toMatchObject({ status: "pass" });
    expect(await kedaCheck(ctx("404", false)).run(signal)).toMatchObject({
      status: "pass",
      message: `no ScaledObjects for the release in ${NS} (autoscaling off)`,
    });
  });
});
