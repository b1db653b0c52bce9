// Pull times of the embedded cluster's worker images (cluster/endpoints/pullTimes.ts): what the
// control API and --pull-time accept, which pods need which image, and which pull time covers it.
import { Readable } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { handleControl, type ControlDeps } from "../../cluster/endpoints/control.js";
import {
  applyPullTimeChanges,
  describePullTime,
  parsePullTime,
  parsePullTimeFlag,
  pulledImageOf,
  pullSecondsFor,
  PULLS_KEY,
  PullTimeError,
  readStoredPullTimes,
  waitsForPull,
  PULL_SECONDS_ANNOTATION,
  type PullTimeChange,
} from "../../cluster/endpoints/pullTimes.js";

const WORKER_IMAGE = "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default";

describe("pull times", () => {
  it("accepts whole seconds per namespace, pool and version; null removes", () => {
    expect(parsePullTime({ pool: "a100", seconds: 180 })).toEqual({ pool: "a100", seconds: 180 });
    expect(parsePullTime({ namespace: "sie", version: "v0.3.4", seconds: null })).toEqual({ namespace: "sie", version: "v0.3.4", seconds: null });
    expect(parsePullTime({ seconds: 0 })).toEqual({ seconds: 0 });
  });

  it.each([
    [{ seconds: 1.5 }, /pulls\[\]\.seconds must be whole seconds from 0 to 86400/],
    [{ seconds: -1 }, /whole seconds/],
    [{ seconds: "2m" }, /whole seconds/],
    [{}, /whole seconds/],
    [{ pool: "", seconds: 1 }, /pulls\[\]\.pool must be a pool name/],
    [{ namespace: "", seconds: 1 }, /pulls\[\]\.namespace must be a namespace name/],
    [{ version: 3, seconds: 1 }, /pulls\[\]\.version must be the version string/],
  ])("refuses %j", (raw, message) => {
    expect(() => parsePullTime(raw)).toThrow(PullTimeError);
    expect(() => parsePullTime(raw)).toThrow(message);
  });

  it("a change replaces the pull time of the same target; clear starts from none", () => {
    const one = applyPullTimeChanges([], [{ seconds: 60 }]);
    const two = applyPullTimeChanges(one, [{ seconds: 90 }, { pool: "a100", seconds: 300 }, { version: "0.3.4", seconds: 10 }]);
    expect(two).toEqual([{ seconds: 90 }, { pool: "a100", seconds: 300 }, { version: "0.3.4", seconds: 10 }]);
    // "v0.3.4" and "0.3.4" are one version, so one target.
    expect(applyPullTimeChanges(two, [{ version: "v0.3.4", seconds: null }, { seconds: null }])).toEqual([{ pool: "a100", seconds: 300 }]);
    expect(applyPullTimeChanges(two, [], true)).toEqual([]);
  });

  it("an image gets the most specific pull time covering it", () => {
    const pulls = [{ seconds: 60 }, { pool: "a100", seconds: 120 }, { namespace: "slow", seconds: 300 }, { version: "v0.3.4", seconds: 1000 }];
    expect(pullSecondsFor(pulls, { namespace: "sie", pool: "l4", version: "0.3.1" })).toBe(60);
    expect(pullSecondsFor(pulls, { namespace: "sie", pool: "a100", version: "0.3.1" })).toBe(120);
    expect(pullSecondsFor(pulls, { namespace: "slow", pool: "a100", version: "0.3.1" })).toBe(300);
    expect(pullSecondsFor(pulls, { namespace: "slow", pool: "a100", version: "0.3.4" })).toBe(1000);
    expect(pullSecondsFor([{ pool: "a100", seconds: 5 }], { namespace: "sie", pool: "l4", version: "0.3.1" })).toBeUndefined();
  });

  it("stored pull times that cannot be read count as none", () => {
    expect(readStoredPullTimes({ [PULLS_KEY]: JSON.stringify([{ pool: "l4", seconds: 5 }, { seconds: "x" }]) })).toEqual([{ pool: "l4", seconds: 5 }]);
    expect(readStoredPullTimes({ [PULLS_KEY]: "{" })).toEqual([]);
    expect(readStoredPullTimes(undefined)).toEqual([]);
  });
});

describe("the image a pod needs on its node", () => {
  const pod = (component: string, spec: V1Pod["spec"], pool?: string): V1Pod => ({
    metadata: { labels: { "app.kubernetes.io/component": component, ...(pool ? { "sie.superlinked.com/pool": pool } : {}) } },
    spec,
  });

  it("a worker's container image, its pool and version", () => {
    expect(pulledImageOf(pod("worker", { containers: [{ name: "worker", image: WORKER_IMAGE }] }, "a100"), "sie")).toEqual({
      namespace: "sie",
      pool: "a100",
      version: "0.3.2",
      image: WORKER_IMAGE,
    });
    expect(pulledImageOf(pod("worker", { containers: [{ name: "worker", image: WORKER_IMAGE }] }), "sie")?.pool).toBe("default");
  });

  it("a pre-pull pod's pull-worker-image initContainer, not its pause container", () => {
    const prepull = pod(
      "image-prepull",
      {
        initContainers: [{ name: "pull-worker-image", image: WORKER_IMAGE }],
        containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }],
      },
      "l4",
    );
    expect(pulledImageOf(prepull, "sie")).toEqual({ namespace: "sie", pool: "l4", version: "0.3.2", image: WORKER_IMAGE });
  });

  it("no other component pulls a modelled image", () => {
    expect(pulledImageOf(pod("gateway", { containers: [{ name: "gateway", image: "ghcr.io/superlinked/sie-gateway:v0.3.2" }] }), "sie")).toBeUndefined();
    expect(pulledImageOf(pod("image-prepull", { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] }), "sie")).toBeUndefined();
  });

  it("a pod waits for a pull while it carries the annotation", () => {
    expect(waitsForPull({ metadata: { annotations: { [PULL_SECONDS_ANNOTATION]: "90" } } })).toBe(true);
    expect(waitsForPull({ metadata: { annotations: {} } })).toBe(false);
    expect(waitsForPull({})).toBe(false);
  });
});

describe("--pull-time", () => {
  it.each([
    ["worker=90s", { seconds: 90 }],
    ["worker:a100=2m", { pool: "a100", seconds: 120 }],
    ["sie/worker@v0.3.4=600", { namespace: "sie", version: "v0.3.4", seconds: 600 }],
    ["worker:l4=off", { pool: "l4", seconds: null }],
  ])("%s", (flag, change) => {
    expect(parsePullTimeFlag(flag)).toEqual(change);
  });

  it.each([
    ["worker", /--pull-time "worker" is not a pull time: write \[<namespace>\/\]worker\[:<pool>\]/],
    ["worker=1h", /--pull-time "worker=1h": the duration must be whole seconds or minutes/],
    ["gateway=10s", /--pull-time "gateway=10s": pull times are for the worker image: write worker\[:<pool>\]\[@<version>\], got "gateway"/],
    ["worker=99999999", /--pull-time "worker=99999999": pulls\[\]\.seconds must be whole seconds from 0 to 86400/],
  ])("refuses %s, saying how to write it", (flag, message) => {
    expect(() => parsePullTimeFlag(flag)).toThrow(PullTimeError);
    expect(() => parsePullTimeFlag(flag)).toThrow(message);
  });

  it("describes a pull time the way the flag names it", () => {
    expect(describePullTime({ namespace: "sie", pool: "a100", seconds: 90 })).toBe("sie/worker:a100 90s");
    expect(describePullTime({ version: "v0.3.4", seconds: 600 })).toBe("worker@v0.3.4 600s");
  });
});

describe("POST /control/pulls", () => {
  const call = async (method: string, body: string, deps: Partial<ControlDeps>) => {
    const req = Object.assign(Readable.from([Buffer.from(body)]), { method }) as unknown as IncomingMessage;
    let code = 0;
    let text = "";
    const res = {
      writeHead: (c: number) => {
        code = c;
      },
      end: (t: string) => {
        text = t;
      },
    } as unknown as ServerResponse;
    await handleControl(deps as ControlDeps, req, res, "/pulls", new URL("http://127.0.0.1/control/pulls"));
    return { code, body: JSON.parse(text) as Record<string, unknown> };
  };

  it("passes the validated changes and clear on, and answers the stored list", async () => {
    const seen: [PullTimeChange[], boolean][] = [];
    const deps: Partial<ControlDeps> = {
      changePulls: async (changes, clear) => {
        seen.push([changes, clear]);
        return [{ pool: "a100", seconds: 300 }];
      },
    };
    const r = await call("POST", JSON.stringify({ pulls: [{ pool: "a100", seconds: 300 }, { seconds: null }], clear: true }), deps);
    expect(r).toEqual({ code: 200, body: { pulls: [{ pool: "a100", seconds: 300 }] } });
    expect(seen).toEqual([[[{ pool: "a100", seconds: 300 }, { seconds: null }], true]]);
  });

  it.each([
    [JSON.stringify({ pulls: [{ seconds: 1.5 }] }), "pulls[].seconds must be whole seconds"],
    [JSON.stringify({ pulls: { seconds: 1 } }), "pulls must be a list of {namespace?, pool?, version?, seconds}"],
    ["[1]", "body must be a JSON object"],
  ])("refuses %s with 400, storing nothing", async (body, message) => {
    const r = await call("POST", body, { changePulls: () => Promise.reject(new Error("must not store")) });
    expect(r.code).toBe(400);
    expect(String(r.body["error"])).toContain(message);
  });

  it("GET answers the pull times and the pulls in flight", async () => {
    const pulling = [{ node: "n1", image: WORKER_IMAGE, seconds: 90, startedAt: "2026-01-01T00:00:00.000Z", endsAt: "2026-01-01T00:01:30.000Z" }];
    const r = await call("GET", "", { pulls: () => [{ seconds: 90 }], pulling: () => pulling });
    expect(r).toEqual({ code: 200, body: { pulls: [{ seconds: 90 }], pulling } });
  });
});
