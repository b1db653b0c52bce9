// Moved tags without a cluster: parsing, updating, matching, and the kwok stage that salts the
// digest (cluster/endpoints/digestMoves.ts, kwokStages.ts).
import { createHash } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { applyMoveChanges, DIGEST_SALT_ANNOTATION, MOVES_KEY, moveSalt, parseMove, readStoredMoves } from "../../cluster/endpoints/digestMoves.js";
import { kwokStages } from "../../cluster/endpoints/index.js";

describe("moved tags", () => {
  it("parses a move and names the bad field otherwise", () => {
    expect(parseMove({ namespace: "prod", version: "v0.3.3", salt: "pushed-again" })).toEqual({ namespace: "prod", version: "v0.3.3", salt: "pushed-again" });
    expect(parseMove({ version: "0.3.3", salt: null })).toEqual({ version: "0.3.3", salt: null });
    expect(() => parseMove({ version: "", salt: "x" })).toThrow(/version must be/);
    expect(() => parseMove({ version: "v1", salt: "" })).toThrow(/salt must be a non-empty string/);
    expect(() => parseMove({ namespace: 1, version: "v1", salt: "x" })).toThrow(/namespace must be/);
  });

  it("a change replaces the move of the same namespace and version, null puts the tag back; matching ignores the v", () => {
    let moves = applyMoveChanges([], [parseMove({ namespace: "prod", version: "v0.3.3", salt: "a" })]);
    moves = applyMoveChanges(moves, [parseMove({ namespace: "prod", version: "0.3.3", salt: "b" }), parseMove({ version: "v0.4.0", salt: "c" })]);
    expect(moves.map((m) => m.salt)).toEqual(["b", "c"]);
    expect(moveSalt(moves, "prod", "0.3.3")).toBe("b");
    expect(moveSalt(moves, "staging", "0.3.3")).toBeUndefined();
    expect(moveSalt(moves, "staging", "0.4.0")).toBe("c");
    moves = applyMoveChanges(moves, [parseMove({ namespace: "prod", version: "v0.3.3", salt: null })]);
    expect(moveSalt(moves, "prod", "0.3.3")).toBeUndefined();
    expect(readStoredMoves({ [MOVES_KEY]: JSON.stringify(moves) })).toEqual(moves);
    expect(readStoredMoves({ [MOVES_KEY]: "not json" })).toEqual([]);
  });

  it("kwok's pod start salts the imageID with the pod's annotation, and without one keeps sha256(image)", () => {
    const start = (k8s.loadAllYaml(kwokStages()) as { metadata: { name: string }; spec: { next: { statusTemplate?: string } } }[]).find(
      (s) => s.metadata.name === "sie-pod-start",
    )!;
    const template = start.spec.next.statusTemplate!;
    expect(template).toContain(`index . ${JSON.stringify(DIGEST_SALT_ANNOTATION)}`);
    expect(template).toContain(`imageID: {{ printf "sha256:%s" (sha256sum (printf "%s%s" .image $salt)) | Quote }}`);
    // What the template computes, in JS: an empty salt leaves the digest every namespace agrees on.
    const image = "ghcr.io/superlinked/sie-server:v0.3.3-cuda12-default";
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(sha(`${image}`)).not.toBe(sha(`${image}moved`));
  });
});
