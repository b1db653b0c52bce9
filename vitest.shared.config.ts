import { sharedClusterLaneConfig } from "./test/support/sharedClusterLane.js";

// The default and reliability lanes in one run, as `npm test` runs them: their files share the
// two workers, so the reliability lane's long fault matrix does not end the run alone.
export default sharedClusterLaneConfig(["default", "reliability"]);
