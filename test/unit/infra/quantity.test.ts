// Kubernetes quantities as numbers: the canonical forms an API server returns, what people write in
// stack config, and the amounts messages show.
import { quantityToScalar } from "@kubernetes/client-node/dist/util.js";
import { describe, expect, it } from "vitest";
import { GPU_PROFILES } from "../../../infra/hardware/gpuProfiles.js";
import { formatQuantity, parseQuantity, quantityValue } from "../../../infra/hardware/quantity.js";

const MI = 2 ** 20;
const GI = 2 ** 30;

describe("quantityValue", () => {
  it.each([
    // Node allocatable as real API servers return it.
    ["7910m", 7.91],
    ["29022Mi", 29022 * MI],
    ["31775Mi", 31775 * MI],
    ["1171186Mi", 1171186 * MI],
    ["110", 110],
    ["180Gi", 180 * GI],
    // Canonical forms of fractional values: 1.5 cores, 1.5Gi, 1.5G, 0.1m rounded up.
    ["1500m", 1.5],
    ["1536Mi", 1.5 * GI],
    ["1500M", 1.5e9],
    ["1m", 0.001],
    ["100n", 1e-7],
    ["2e3", 2000],
    ["1E", 1e18],
    ["1k", 1000],
    ["-1Gi", -GI],
  ])("reads the canonical %s", (q, v) => {
    expect(quantityValue(q)).toBeCloseTo(v, 12);
  });

  it.each([
    // Kubernetes accepts a fraction before a suffix; quantityToScalar alone throws on these.
    ["1.5Gi", 1.5 * GI],
    ["0.5Ki", 512],
    [".5Mi", 0.5 * MI],
    ["2.5G", 2.5e9],
    ["1.5k", 1500],
    ["1.Gi", GI],
    // Plain fractions and fractions before m quantityToScalar reads itself.
    ["1.5", 1.5],
    ["0.5m", 0.0005],
    [" 16Gi ", 16 * GI],
  ])("reads %s as written in config", (q, v) => {
    expect(quantityValue(q)).toBeCloseTo(v, 12);
  });

  // The hardware table's worker requests and limits, and other quantities the repo writes: where
  // quantityToScalar reads the text, the wrapper returns exactly its value (a bigint as a number).
  const inRepo = [
    ...Object.values(GPU_PROFILES).flatMap((p) => [...Object.values(p.workerResources.requests), ...Object.values(p.workerResources.limits)]),
    "500m",
    "10m",
    "80G",
    "1.5",
    "110",
    "7910m",
    "29022Mi",
  ];
  it.each([...new Set(inRepo)])("agrees exactly with quantityToScalar on %s", (q) => {
    const scalar = quantityToScalar(q);
    expect(quantityValue(q)).toBe(Number(scalar));
  });

  it("passes finite numbers through", () => {
    expect(quantityValue(2)).toBe(2);
    expect(quantityValue(Number.NaN)).toBeUndefined();
  });

  it.each(["", "  ", "16gi", "16 GB", "four", "1.5gi", "1.5Gb", "Gi", "1.5e", "Infinity"])("gives undefined for %j", (q) => {
    expect(quantityValue(q)).toBeUndefined();
  });
});

describe("parseQuantity", () => {
  it("throws a TypeError naming what is not a quantity", () => {
    expect(parseQuantity("512Mi")).toBe(512 * MI);
    expect(() => parseQuantity("16 GB")).toThrow(TypeError);
    expect(() => parseQuantity("16 GB")).toThrow(/"16 GB" is not a Kubernetes quantity/);
  });
});

describe("formatQuantity", () => {
  it("shows bytes in Gi and other resources as numbers", () => {
    expect(formatQuantity("memory", 64 * GI)).toBe("64Gi");
    expect(formatQuantity("memory", 29022 * MI)).toBe("28.342Gi");
    expect(formatQuantity("cpu", 7.8)).toBe("7.8");
    expect(formatQuantity("nvidia.com/gpu", 2)).toBe("2");
  });
});
