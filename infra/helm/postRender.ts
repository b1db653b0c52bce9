// The Helm post-renderer every release of the sie-cluster chart goes through (see
// keepWorkerReplicas.mjs). Pure, so automation can render exactly what Pulumi applies.
import { fileURLToPath } from "node:url";

/** An absolute path: the provider plugin does not run in the project directory. */
export const WORKER_REPLICAS_POSTRENDER = fileURLToPath(new URL("./keepWorkerReplicas.mjs", import.meta.url));
