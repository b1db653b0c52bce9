import { sharedClusterLaneConfig } from "./test/support/sharedClusterLane.js";

// The engine lane: the real Pulumi CLI and the real Helm release on the shared embedded cluster
// (`test/engine`, `test/chart`).
export default sharedClusterLaneConfig(["default"]);
