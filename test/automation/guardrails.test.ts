import { describe, expect, it } from "vitest";
import { checkGuardrails, DEFAULT_GUARDRAIL_POLICY, urnName } from "../../automation/plan/guardrails.js";
import { GUARDED_TYPES } from "../../core/defaults.js";
import type { PreviewStep } from "../../core/types.js";

const urn = (type: string, name: string): string => `urn:pulumi:dev::sie-fleet::sie-fleet:infra:Comp$${type}::${name}`;
const RELEASE = "kubernetes:helm.sh/v3:Release";
const NODEPOOL = "gcp:container/nodePool:NodePool";

const releaseUpdate = (paths: string[]): PreviewStep => ({
  op: "update",
  urn: urn(RELEASE, "sie-cluster"),
  type: RELEASE,
  detailedDiff: Object.fromEntries(paths.map((p) => [p, { diffKind: "update" }])),
});

describe("checkGuardrails", () => {
  it("passes an image-tag update of the release among unchanged resources", () => {
    const steps: PreviewStep[] = [
      { op: "same", urn: urn(NODEPOOL, "l4-nodepool"), type: NODEPOOL },
      releaseUpdate(["values.workers.common.image.tag", "values.gateway.image.tag", "values.config.image.tag"]),
      { op: "read", urn: urn("kubernetes:core/v1:Secret", "x"), type: "kubernetes:core/v1:Secret" },
    ];
    expect(checkGuardrails(steps)).toEqual({ ok: true, violations: [], changes: 1 });
  });

  it("refuses a node-pool replacement once, naming the forcing field", () => {
    const u = urn(NODEPOOL, "a100-80gb-nodepool");
    const steps: PreviewStep[] = [
      { op: "create-replacement", urn: u, type: NODEPOOL, keys: ["nodeConfig.guestAccelerators"] },
      { op: "replace", urn: u, type: NODEPOOL, keys: ["nodeConfig.guestAccelerators"] },
      { op: "delete-replaced", urn: u, type: NODEPOOL },
      releaseUpdate(["values.workers.common.image.tag"]),
    ];
    const r = checkGuardrails(steps);
    expect(r.ok).toBe(false);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({ urn: u, op: "replace" });
    expect(r.violations[0]!.reason).toMatch(
      /REPLACE gcp:container\/nodePool:NodePool "a100-80gb-nodepool" \(node-pool; replacement forced by: nodeConfig.guestAccelerators\)/,
    );
  });

  it.each([
    ["gcp:container/cluster:Cluster", "gke"],
    ["aws:eks/cluster:Cluster", "eks"],
    ["aws:eks/nodeGroup:NodeGroup", "l4-ng"],
    ["kubernetes:karpenter.sh/v1:NodePool", "l4-karpenter-nodepool"],
    ["kubernetes:core/v1:Namespace", "sie"],
    ["kubernetes:keda.sh/v1alpha1:ScaledObject", "sie-worker-l4-scaler"],
  ])("refuses deleting %s", (type, name) => {
    const r = checkGuardrails([{ op: "delete", urn: urn(type, name), type }]);
    expect(r.ok).toBe(false);
    expect(r.violations[0]!.reason).toContain("DELETE");
  });

  it("refuses release changes outside the upgrade paths", () => {
    const r = checkGuardrails([releaseUpdate(["values.workers.common.image.tag", "values.workers.pools.l4.maxReplicas"])]);
    // The KEDA chart is a helm Release too, and is not part of an upgrade.
    expect(checkGuardrails([{ op: "update", urn: urn(RELEASE, "keda"), type: RELEASE, detailedDiff: { version: { diffKind: "update" } } }]).ok).toBe(false);
    expect(r.ok).toBe(false);
    expect(r.violations[0]!.reason).toContain("values.workers.pools.l4.maxReplicas");
    expect(r.violations[0]!.reason).not.toContain("image.tag,");
  });

  it("refuses replacing the release itself", () => {
    const r = checkGuardrails([{ op: "replace", urn: urn(RELEASE, "sie-cluster"), type: RELEASE, keys: ["name"] }]);
    expect(r.violations[0]!.reason).toMatch(/REPLACE the release .*uninstalls/);
  });

  it("refuses any other change, unless the policy allows it", () => {
    const cm: PreviewStep = { op: "create", urn: urn("kubernetes:core/v1:ConfigMap", "extra"), type: "kubernetes:core/v1:ConfigMap" };
    expect(checkGuardrails([cm]).ok).toBe(false);
    expect(checkGuardrails([cm], { ...DEFAULT_GUARDRAIL_POLICY, allowedChanges: [{ op: "create", type: "kubernetes:core/v1:ConfigMap" }] }).ok).toBe(true);
    // An in-place node pool update (e.g. autoscaling) is a change beyond the release too.
    expect(checkGuardrails([{ op: "update", urn: urn(NODEPOOL, "l4"), type: NODEPOOL }]).ok).toBe(false);
  });

  it("accepts extra guarded types as data", () => {
    const t = "kubernetes:core/v1:ResourceQuota";
    const policy = { ...DEFAULT_GUARDRAIL_POLICY, guardedTypes: [...GUARDED_TYPES, { type: t, kind: "namespace" as const }] };
    expect(checkGuardrails([{ op: "delete", urn: urn(t, "sie"), type: t }], policy).violations[0]!.reason).toContain("everything in it");
  });

  it("urnName takes the part after the last ::", () => {
    expect(urnName("urn:pulumi:s::p::a$b::my-name")).toBe("my-name");
  });
});
