import { describe, expect, it } from "vitest";
import { CLUSTER_LOCK } from "../../core/defaults.js";
import { fleetObjectName, labelValue } from "../../automation/kube/fleetNames.js";
import { leaseName, leaseTiming } from "../../automation/locks/lease.js";

describe("the cluster lock's timing", () => {
  it("defaults to CLUSTER_LOCK and takes whole seconds from the environment", () => {
    expect(leaseTiming({})).toEqual({ expirySeconds: CLUSTER_LOCK.expirySeconds, renewSeconds: CLUSTER_LOCK.renewSeconds });
    expect(leaseTiming({ SIE_FLEET_LOCK_EXPIRY_SECONDS: "12" })).toEqual({ expirySeconds: 12, renewSeconds: 3 });
    expect(leaseTiming({ SIE_FLEET_LOCK_EXPIRY_SECONDS: "30", SIE_FLEET_LOCK_RENEW_SECONDS: "10" })).toEqual({ expirySeconds: 30, renewSeconds: 10 });
  });

  it("refuses values that are not whole seconds, or a renewal too slow to keep the lock", () => {
    expect(() => leaseTiming({ SIE_FLEET_LOCK_EXPIRY_SECONDS: "1.5" })).toThrow(/SIE_FLEET_LOCK_EXPIRY_SECONDS="1.5" is not a whole number of seconds/);
    expect(() => leaseTiming({ SIE_FLEET_LOCK_RENEW_SECONDS: "0" })).toThrow(/SIE_FLEET_LOCK_RENEW_SECONDS="0"/);
    expect(() => leaseTiming({ SIE_FLEET_LOCK_EXPIRY_SECONDS: "10", SIE_FLEET_LOCK_RENEW_SECONDS: "6" })).toThrow(/at most half/);
  });
});

describe("names of sie-fleet's objects in a cluster", () => {
  it("uses a stack name as it is when Kubernetes allows it, else a readable part and a hash", () => {
    expect(leaseName("prod")).toBe("sie-fleet-lock-prod");
    expect(leaseName("Prod_EU.1")).toMatch(/^sie-fleet-lock-prod-eu-1-[0-9a-f]{10}$/);
    expect(leaseName("Prod_EU.1")).not.toBe(leaseName("prod-eu-1"));
    expect(fleetObjectName("sie-fleet-run", "20260101t120000123z-1a2b3c")).toBe("sie-fleet-run-20260101t120000123z-1a2b3c");
    expect(labelValue("prod_eu")).toBe("prod_eu");
    expect(labelValue("ends-with-dash-")).toMatch(/^h-[0-9a-f]{24}$/);
  });
});
