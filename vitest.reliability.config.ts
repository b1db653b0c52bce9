import { sharedClusterLaneConfig } from "./test/support/sharedClusterLane.js";

// The reliability lane: crash and fault matrices, bad input, secrets, support bundles, driving the
// real CLI against the real engine on the shared embedded cluster. SIE_FLEET_RELIABILITY=full
// widens the matrices.
export default sharedClusterLaneConfig(["reliability"]);
