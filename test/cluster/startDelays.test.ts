// Start delays of the embedded cluster's SIE pods (cluster/endpoints/startDelays.ts): what the
// control API accepts, and which delay a new pod gets.
import { describe, expect, it } from "vitest";
import {
  applyStartDelayChanges,
  parseStartDelay,
  readStoredStartDelays,
  STARTS_KEY,
  StartDelayError,
  parseStartDelayFlag,
  describeStartDelay,
  startSecondsFor,
} from "../../cluster/endpoints/startDelays.js";

describe("start delays", () => {
  it("accepts whole seconds per component, pool and namespace; null removes", () => {
    expect(parseStartDelay({ component: "worker", pool: "a100", seconds: 90 })).toEqual({ component: "worker", pool: "a100", seconds: 90 });
    expect(parseStartDelay({ namespace: "sie", component: "gateway", seconds: null })).toEqual({ namespace: "sie", component: "gateway", seconds: null });
  });

  it.each([
    [{ component: "db", seconds: 1 }, /component must be one of gateway, config, worker/],
    [{ component: "gateway", pool: "l4", seconds: 1 }, /pool .* only applies to component worker/],
    [{ component: "worker", seconds: 1.5 }, /whole seconds from 0 to 86400/],
    [{ component: "worker", seconds: -1 }, /whole seconds/],
    [{ component: "worker", seconds: "90s" }, /whole seconds/],
    [{ component: "worker", namespace: "", seconds: 1 }, /namespace must be a namespace name/],
  ])("refuses %j", (raw, message) => {
    expect(() => parseStartDelay(raw)).toThrow(StartDelayError);
    expect(() => parseStartDelay(raw)).toThrow(message);
  });

  it("a change replaces the delay of the same target; clear starts from none", () => {
    const one = applyStartDelayChanges([], [{ component: "worker", seconds: 60 }]);
    const two = applyStartDelayChanges(one, [
      { component: "worker", seconds: 90 },
      { component: "worker", pool: "a100", seconds: 120 },
    ]);
    expect(two).toEqual([
      { component: "worker", seconds: 90 },
      { component: "worker", pool: "a100", seconds: 120 },
    ]);
    expect(applyStartDelayChanges(two, [{ component: "worker", seconds: null }])).toEqual([{ component: "worker", pool: "a100", seconds: 120 }]);
    expect(applyStartDelayChanges(two, [], true)).toEqual([]);
  });

  it("a new pod gets the most specific delay covering it", () => {
    const delays = [
      { component: "worker" as const, seconds: 60 },
      { component: "worker" as const, pool: "a100", seconds: 120 },
      { namespace: "slow", component: "worker" as const, seconds: 300 },
      { component: "gateway" as const, seconds: 10 },
      { component: "gateway" as const, version: "v0.3.4", seconds: 1000 },
    ];
    expect(startSecondsFor(delays, { namespace: "sie", component: "worker", pool: "l4", version: "0.3.1" })).toBe(60);
    expect(startSecondsFor(delays, { namespace: "sie", component: "worker", pool: "a100", version: "0.3.1" })).toBe(120);
    expect(startSecondsFor(delays, { namespace: "slow", component: "worker", pool: "a100", version: "0.3.1" })).toBe(300);
    expect(startSecondsFor(delays, { namespace: "sie", component: "gateway", pool: "", version: "0.3.1" })).toBe(10);
    expect(startSecondsFor(delays, { namespace: "sie", component: "gateway", pool: "", version: "0.3.4" })).toBe(1000);
    expect(startSecondsFor(delays, { namespace: "sie", component: "config", pool: "", version: "0.3.1" })).toBeUndefined();
  });

  it("stored delays that cannot be read count as none", () => {
    expect(readStoredStartDelays({ [STARTS_KEY]: JSON.stringify([{ component: "worker", seconds: 5 }, { component: "x" }]) })).toEqual([
      { component: "worker", seconds: 5 },
    ]);
    expect(readStoredStartDelays({ [STARTS_KEY]: "{" })).toEqual([]);
    expect(readStoredStartDelays(undefined)).toEqual([]);
  });
});

describe("--start-delay", () => {
  it.each([
    ["worker=90s", { component: "worker", seconds: 90 }],
    ["worker:a100=2m", { component: "worker", pool: "a100", seconds: 120 }],
    ["sie/gateway@v0.3.4=3600", { namespace: "sie", component: "gateway", version: "v0.3.4", seconds: 3600 }],
    ["config=off", { component: "config", seconds: null }],
  ])("%s", (flag, change) => {
    expect(parseStartDelayFlag(flag)).toEqual(change);
  });

  it.each([
    ["worker", /is not a start delay: write \[<namespace>\/\]<component>/],
    ["worker=1.5s", /whole seconds or minutes/],
    ["worker=1h", /whole seconds or minutes/],
    ["db=10s", /component must be one of/],
    ["gateway:a100=10s", /only applies to component worker/],
  ])("refuses %s, saying how to write it", (flag, message) => {
    expect(() => parseStartDelayFlag(flag)).toThrow(message);
  });

  it("describes a delay the way the flag names it", () => {
    expect(describeStartDelay({ namespace: "sie", component: "worker", pool: "a100", seconds: 90 })).toBe("sie/worker:a100 90s");
  });
});
