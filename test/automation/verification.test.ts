import { describe, expect, it } from "vitest";
import { componentTagsAt } from "../../automation/actions/upgrade/verification.js";
import type { FleetConfig } from "../../infra/config/configTypes.js";

const release = (pins: { gatewayTag?: string; configTag?: string } = {}) =>
  ({
    chart: "../shared/charts/sie-cluster-{version}",
    version: "0.3.1",
    releaseName: "sie",
    namespace: "sie",
    imageTag: "v0.3.1",
    ...pins,
  }) as FleetConfig["release"];

describe("the tags the gateway and config gates expect", () => {
  it("nothing pinned: both follow the release's tag, so the gates need no override", () => {
    expect(componentTagsAt(release(), "v0.3.2")).toBeUndefined();
  });

  it("a pinned gatewayTag or configTag is what those pods run whatever tag the upgrade brings", () => {
    expect(componentTagsAt(release({ gatewayTag: "v0.3.0" }), "v0.3.2")).toEqual({ gateway: "v0.3.0" });
    expect(componentTagsAt(release({ configTag: "v0.2.9" }), "v0.3.2")).toEqual({ config: "v0.2.9" });
    expect(componentTagsAt(release({ gatewayTag: "v0.3.0", configTag: "v0.2.9" }), "v0.3.2")).toEqual({ gateway: "v0.3.0", config: "v0.2.9" });
  });

  it("a pin equal to the target tag needs no override", () => {
    expect(componentTagsAt(release({ gatewayTag: "v0.3.2" }), "v0.3.2")).toBeUndefined();
  });
});
