// What the local platform receives: the same values and ScaledObjects a cluster would get, plus the
// node pools (labels/taints) the simulator should fake. Pure, so it is cheap to test.
import type { LocalDeployArgs } from "./local/index.js";
import type { LocalFleetConfig } from "./configTypes.js";
import { buildReleaseValues, chartFullname } from "./releaseValues.js";
import { buildScaledObjects } from "./scaledObjects.js";

export function localDeployArgs(cfg: LocalFleetConfig): LocalDeployArgs {
  const fullname = chartFullname(cfg);
  return {
    namespace: cfg.release.namespace,
    releaseName: cfg.release.releaseName,
    fullname,
    ...(cfg.local.simDir ? { simDir: cfg.local.simDir } : {}),
    values: buildReleaseValues(cfg),
    scaledObjects: buildScaledObjects(cfg, fullname).map((so) => ({ ...so })),
    nodePools: Object.values(cfg.pools)
      .filter((p) => p.enabled)
      .map((p) => ({ name: p.name, labels: { ...p.nodeLabels }, taints: p.nodeTaints.map((t) => ({ ...t })), gpuCount: p.hardware.gpusPerNode, maxNodes: p.maxNodes })),
  };
}
