// The fault table (cluster/faults.ts) and the kwok stages generated from it: one definition of
// each fault, the same tag parsing on both sides.
import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { extraLatencyMs, failsRequest, FAULT_ANNOTATION, FAULT_NAMES, FAULTS, parseImage, POD_FAULTS } from "../../cluster/faults.js";
import { kwokStages } from "../../cluster/endpoints/index.js";
import { START_SECONDS_ANNOTATION } from "../../cluster/endpoints/startDelays.js";
import { PULL_SECONDS_ANNOTATION } from "../../cluster/endpoints/pullTimes.js";

describe("parseImage", () => {
  it.each([
    ["ghcr.io/superlinked/sie-gateway:v0.3.2-errors10", { tag: "v0.3.2-errors10", baseTag: "v0.3.2-errors10", fault: "errors10", version: "0.3.2-errors10" }],
    [
      "ghcr.io/superlinked/sie-server:v0.3.2-errors10-cuda12-default",
      { tag: "v0.3.2-errors10-cuda12-default", baseTag: "v0.3.2-errors10", platform: "cuda12", bundle: "default", fault: "errors10" },
    ],
    ["ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default", { baseTag: "v0.3.1", version: "0.3.1", fault: undefined }],
    ["ghcr.io/superlinked/sie-server:v0.3.1-5xx-cpu-default", { baseTag: "v0.3.1-5xx", fault: "5xx", platform: "cpu" }],
    [
      "localhost:5000/sie-config:0.4.0-crashloop",
      { repository: "localhost:5000/sie-config", baseTag: "0.4.0-crashloop", fault: "crashloop", version: "0.4.0-crashloop" },
    ],
    ["ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default@sha256:abc", { tag: "v0.3.1-cuda12-default", version: "0.3.1" }],
    ["sie-server", { repository: "sie-server", tag: "latest", fault: undefined }],
  ])("%s", (image, want) => {
    const { fault, ...rest } = want as Record<string, unknown>;
    const got = parseImage(image);
    expect(got).toMatchObject(rest);
    expect(got.fault).toBe(fault);
  });

  it("knows every fault in the table", () => {
    for (const [name, f] of Object.entries(FAULTS)) expect(parseImage(`r/x:v1.0.0${f.suffix}-cuda12-default`).fault).toBe(name);
  });
});

describe("request faults", () => {
  it("-5xx fails every request, -errors10 exactly every tenth, the others none", () => {
    const fails = (f: Parameters<typeof failsRequest>[0]) => Array.from({ length: 30 }, (_, i) => failsRequest(f, i + 1)).filter(Boolean).length;
    expect(fails("5xx")).toBe(30);
    expect(fails("errors10")).toBe(3);
    expect([fails("slow"), fails("crashloop"), fails(undefined)]).toEqual([0, 0, 0]);
    expect(failsRequest("errors10", 10)).toBe(true);
  });

  it("-slow adds its latency, nothing else does", () => {
    expect(extraLatencyMs("slow")).toBe(1500);
    expect(FAULT_NAMES.filter((f) => extraLatencyMs(f) > 0)).toEqual(["slow"]);
  });

  it("pod faults are the ones kwok executes", () => {
    expect(POD_FAULTS).toEqual(["crashloop", "pullerr", "noready"]);
  });
});

type Stage = {
  metadata: { name: string };
  spec: {
    resourceRef: { kind: string };
    selector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] };
    next: { statusTemplate?: string; delete?: boolean };
  };
};

describe("kwokStages", () => {
  const stages = k8s.loadAllYaml(kwokStages()) as Stage[];
  const byName = new Map(stages.map((s) => [s.metadata.name, s]));

  it("is valid YAML with uniquely named Stages for nodes and pods", () => {
    expect(stages.every((s) => (s as unknown as { kind: string }).kind === "Stage")).toBe(true);
    expect(byName.size).toBe(stages.length);
    expect([...byName.keys()]).toEqual([
      "sie-node-ready",
      "sie-pod-start",
      "sie-pod-crashloop-restart",
      "sie-pod-pullerr-backoff",
      "sie-pod-pullerr-retry",
      "sie-pod-startup",
      "sie-pod-startup-restart",
      "sie-pod-delete",
    ]);
    expect(byName.get("sie-pod-delete")!.spec.next.delete).toBe(true);
  });

  it("pod stages exclude each other (kwok picks at random among matching stages)", () => {
    const pod = stages.filter((s) => s.spec.resourceRef.kind === "Pod");
    const key = (s: Stage) =>
      (s.spec.selector?.matchExpressions ?? [])
        .map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(",")}`)
        .sort()
        .join(" & ");
    // Stages waiting on the same reason must disagree on some other key: In X against NotIn X.
    const exprs = (s: Stage) => s.spec.selector?.matchExpressions ?? [];
    const reasonOf = (s: Stage) =>
      exprs(s)
        .find((e) => e.key.endsWith("state.waiting.reason"))
        ?.values?.join(",");
    const waiting = pod.filter((s) => reasonOf(s) !== undefined);
    for (const a of waiting)
      for (const b of waiting.filter((x) => x !== a && reasonOf(x) === reasonOf(a))) {
        const excluded = exprs(a).some((e) =>
          exprs(b).some(
            (f) =>
              f.key === e.key &&
              ((e.operator === "In" && f.operator === "NotIn") || (e.operator === "NotIn" && f.operator === "In")) &&
              e.values?.join() === f.values?.join(),
          ),
        );
        expect(excluded, `${a.metadata.name} and ${b.metadata.name} both wait on ${reasonOf(a)}`).toBe(true);
      }
    // A start delay plays only on a running, unstarted container: never on a pod fault's waiting one.
    expect(key(byName.get("sie-pod-startup")!)).toContain(".status.containerStatuses.[].state.running Exists");
    expect(key(byName.get("sie-pod-start")!)).toContain(".status.containerStatuses DoesNotExist");
    // A pod whose node is pulling its image is not started; only the pod start reads the pull annotation.
    expect(key(byName.get("sie-pod-start")!)).toContain(`.metadata.annotations[${JSON.stringify(PULL_SECONDS_ANNOTATION)}] DoesNotExist`);
    for (const s of pod.filter((x) => x.metadata.name !== "sie-pod-start")) expect(key(s)).not.toContain(PULL_SECONDS_ANNOTATION);
    for (const s of pod.filter((x) => x.metadata.name !== "sie-pod-delete")) expect(key(s)).toContain(".metadata.deletionTimestamp DoesNotExist");
  });

  it("the pod start waits while the pod's node pulls its image (kwok: a missing key matches DoesNotExist)", () => {
    // kwok's Requirement.Matches on plain paths (`.a.b["c"]`): no value → only NotIn/DoesNotExist hold.
    const valueAt = (obj: unknown, key: string): unknown =>
      [...key.matchAll(/\.([A-Za-z]+)|\["([^"]+)"\]/g)].reduce<unknown>((o, m) => (o as Record<string, unknown> | undefined)?.[m[1] ?? m[2]!], obj);
    const matches = (stage: Stage, pod: unknown) =>
      (stage.spec.selector?.matchExpressions ?? []).every((e) => {
        const v = valueAt(pod, e.key);
        if (e.operator === "Exists") return v !== undefined && v !== null && v !== "";
        if (e.operator === "DoesNotExist") return v === undefined || v === null || v === "";
        throw new Error(`no plain-path evaluation for ${e.operator}`);
      });
    const start = byName.get("sie-pod-start")!;
    const bound = { metadata: { annotations: {} as Record<string, string> }, spec: { nodeName: "kwok-l4-0" }, status: {} };
    expect(matches(start, bound)).toBe(true);
    bound.metadata.annotations[PULL_SECONDS_ANNOTATION] = "90";
    expect(matches(start, bound)).toBe(false);
    delete bound.metadata.annotations[PULL_SECONDS_ANNOTATION];
    expect(matches(start, bound)).toBe(true);
    expect(matches(start, { metadata: {}, spec: { nodeName: "kwok-l4-0" } })).toBe(true);
  });

  it("the pod start reads the fault annotation, then the same tag suffixes parseImage reads", () => {
    const template = byName.get("sie-pod-start")!.spec.next.statusTemplate!;
    expect(template).toContain(JSON.stringify(FAULT_ANNOTATION));
    // The Go regexes of the template, run in JS (RE2 and JS agree on these), against parseImage.
    const rules = [...template.matchAll(/regexMatch ("[^"]+") \.image \}\}\{\{ \$fault = "([a-z0-9]+)"/g)].map((m) => ({
      re: new RegExp(JSON.parse(m[1]!) as string),
      fault: m[2]!,
    }));
    expect([...new Set(rules.map((r) => r.fault))].sort()).toEqual([...POD_FAULTS].sort());
    const images = FAULT_NAMES.flatMap((f) => [
      `ghcr.io/s/sie-server:v0.3.2${FAULTS[f].suffix}-cuda12-default`,
      `ghcr.io/s/sie-gateway:v0.3.2${FAULTS[f].suffix}`,
      `localhost:5000/x:1${FAULTS[f].suffix}-cpu-big_bundle.v2`,
    ]);
    images.push("ghcr.io/s/sie-server:v0.3.2-cuda12-default", "ghcr.io/s/sie-gateway:v0.3.2", "ghcr.io/s-crashloop/sie-gateway:v0.3.2");
    for (const image of images) {
      const byStage = rules.find((r) => r.re.test(image))?.fault;
      const fault = parseImage(image).fault;
      expect(byStage, image).toBe(fault && POD_FAULTS.includes(fault as never) ? fault : undefined);
    }
  });

  it("each pod fault's status is set by the pod start: phase, readiness and container state", () => {
    const template = byName.get("sie-pod-start")!.spec.next.statusTemplate!;
    for (const f of POD_FAULTS) expect(template).toContain(`eq $fault "${f}"`);
    expect(template).toMatch(/has \$fault \(list "pullerr"\) \}\}\{\{ \$pending = true/);
    expect(template).toMatch(/has \$fault \(list "crashloop" "pullerr" "noready"\) \}\}\{\{ \$ready = false/);
    expect(template).toContain("reason: CrashLoopBackOff");
    expect(template).toContain("reason: ErrImagePull");
  });

  it("a start delay keeps containers unstarted and unready, then starts them or kills them at the startup budget", () => {
    const start = byName.get("sie-pod-start")!.spec.next.statusTemplate!;
    expect(start).toContain(JSON.stringify(START_SECONDS_ANNOTATION));
    const delayed = start.slice(start.indexOf("{{ else if $delayed }}"), start.lastIndexOf("{{ else }}"));
    expect(delayed).toMatch(/ready: false\s+started: false/);
    expect(start).toContain("{{ $ready := not $delayed }}");
    const startup = byName.get("sie-pod-startup")! as Stage & { spec: { delay: { durationFrom: { jq: { expression: string } } } } };
    const jq = startup.spec.delay.durationFrom.jq.expression;
    // Delay and outcome read the same annotation and the same probe fields with Kubernetes' defaults.
    for (const part of [START_SECONDS_ANNOTATION, "initialDelaySeconds // 0", "failureThreshold // 3", "periodSeconds // 10"]) expect(jq).toContain(part);
    const outcome = startup.spec.next.statusTemplate!;
    for (const part of [START_SECONDS_ANNOTATION, "or .initialDelaySeconds 0", "or .failureThreshold 3", "or .periodSeconds 10"])
      expect(outcome).toContain(part);
    expect(outcome).toContain("reason: CrashLoopBackOff");
    const restart = byName.get("sie-pod-startup-restart")!.spec.next.statusTemplate!;
    expect(restart).toContain("started: false");
  });
});
