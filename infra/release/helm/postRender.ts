// The Helm post-renderer every release of the sie-cluster chart goes through (see
// keepWorkerReplicas.mjs). Pure, so automation can render exactly what Pulumi applies.
import * as path from "node:path";
import { REPO_ROOT } from "../../../core/paths.js";

/**
 * An absolute path: the provider plugin does not run in the project directory. Always the
 * checkout's file, never a compiled copy's: the path is an input of the release, and the same
 * program must give the same inputs however it was loaded.
 */
export const WORKER_REPLICAS_POSTRENDER = path.join(REPO_ROOT, "infra", "release", "helm", "keepWorkerReplicas.mjs");
