import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors.js";
import { checkVersionPolicy, parseImageTag, tryParseImageTag } from "../../automation/plan/versionPolicy.js";

const base = { maxMinorSkip: 1, forwardOnly: [] as string[], force: false };

describe("parseImageTag", () => {
  it.each([
    ["v0.3.1", "0.3.1", undefined],
    ["0.3.1", "0.3.1", undefined],
    ["v0.3.2-errors10", "0.3.2", "errors10"],
    ["v1.10.0-crashloop", "1.10.0", "crashloop"],
  ])("reads %s", (raw, core, suffix) => {
    const t = parseImageTag(raw);
    expect(t.core).toBe(core);
    expect(t.suffix).toBe(suffix);
  });

  it.each(["latest", "v0.3", "v0.3.1.2", "v01.2.3", "", "v0.3.1-", "0.3.1+build"])("rejects %j naming the flag", (raw) => {
    expect(tryParseImageTag(raw)).toBeUndefined();
    expect(() => parseImageTag(raw)).toThrow(UsageError);
    expect(() => parseImageTag(raw)).toThrow(/--to ".*" is not an image tag.*e\.g\. v0\.3\.2/);
  });
});

describe("checkVersionPolicy", () => {
  it("allows a patch or next-minor upgrade", () => {
    expect(checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.3.2" })).toMatchObject({ allowed: true, direction: "upgrade", revertPossible: true });
    expect(checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.4.0" })).toMatchObject({ allowed: true });
    // Skipping one minor (0.4) is within maxMinorSkip 1.
    expect(checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.5.0" })).toMatchObject({ allowed: true });
  });

  it("refuses skipping too many minors, naming the skipped versions and a waypoint", () => {
    const r = checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.6.0" });
    expect(r.allowed).toBe(false);
    if (r.allowed) return;
    expect(r.rule).toBe("skip-too-large");
    expect(r.reason).toContain("skips 2 minor version(s) (0.4, 0.5)");
    expect(r.reason).toContain("at most 1");
    expect(r.reason).toContain("v0.5.0");
  });

  it("compares X.Y.Z only: a fault suffix is a flavour, not a lower version", () => {
    expect(checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.3.1-crashloop" })).toMatchObject({ allowed: true, direction: "flavour" });
    expect(checkVersionPolicy({ ...base, from: "v0.3.2-errors10", to: "v0.3.2" })).toMatchObject({ allowed: true, direction: "flavour" });
    expect(checkVersionPolicy({ ...base, from: "v0.3.1", to: "v0.3.1" })).toMatchObject({ allowed: true, direction: "same" });
    expect(checkVersionPolicy({ ...base, from: "v0.3.1-x", to: "v0.6.0-y" })).toMatchObject({ allowed: false, rule: "skip-too-large" });
  });

  it("refuses a major change unless forced", () => {
    const r = checkVersionPolicy({ ...base, from: "v0.9.0", to: "v1.0.0" });
    expect(r).toMatchObject({ allowed: false, rule: "major-change" });
    const forced = checkVersionPolicy({ ...base, from: "v0.9.0", to: "v1.0.0", force: true });
    expect(forced).toMatchObject({ allowed: true, overridden: [{ rule: "major-change" }] });
  });

  it("allows downgrades that stay on the same side of forward-only versions", () => {
    expect(checkVersionPolicy({ ...base, from: "v0.3.2", to: "v0.3.1", forwardOnly: ["v0.3.0"] })).toMatchObject({ allowed: true, direction: "downgrade" });
  });

  it("refuses a downgrade below a forward-only version", () => {
    const r = checkVersionPolicy({ ...base, from: "v0.4.1", to: "v0.3.9", forwardOnly: ["v0.4.0"] });
    expect(r).toMatchObject({ allowed: false, rule: "forward-only-downgrade" });
  });

  it("refuses an upgrade across a forward-only version (no automatic revert) unless forced", () => {
    const r = checkVersionPolicy({ ...base, from: "v0.3.9", to: "v0.4.0", forwardOnly: ["0.4.0"] });
    expect(r).toMatchObject({ allowed: false, rule: "forward-only-crossing" });
    const f = checkVersionPolicy({ ...base, from: "v0.3.9", to: "v0.4.0", forwardOnly: ["0.4.0"], force: true });
    expect(f).toMatchObject({ allowed: true, revertPossible: false });
  });

  it("lists every finding, the first as the rule", () => {
    const r = checkVersionPolicy({ ...base, from: "v0.1.0", to: "v0.5.0", forwardOnly: ["v0.2.0"] });
    expect(r.allowed).toBe(false);
    if (!r.allowed) expect(r.findings.map((f) => f.rule)).toEqual(["skip-too-large", "forward-only-crossing"]);
  });

  it("throws UsageError for bad tags", () => {
    expect(() => checkVersionPolicy({ ...base, from: "v0.3.1", to: "nope" })).toThrow(UsageError);
  });
});
