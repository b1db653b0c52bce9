// Rules for platform kubernetes with `cluster.deployWith: objects`: what the helm path installs
// but the rendered objects do not, so a stack file cannot ask for it and silently not get it.
import type { Report } from "./configRules.js";
import type { FleetConfig } from "./configTypes.js";

export function checkDeployWith(cfg: FleetConfig, report: Report): void {
  if (cfg.platform !== "kubernetes" || cfg.cluster.deployWith !== "objects") return;
  if (cfg.keda.install) {
    report(["keda", "install"], "KEDA is installed with its Helm chart, which cluster.deployWith objects does not use", "install KEDA in the cluster yourself and set keda.install: false, or use cluster.deployWith: helm");
  }
  if (cfg.hasHfToken) {
    report(["hfToken"], "the HF token Secret is created by the Helm chart, which cluster.deployWith objects does not use", "create the Secret in the cluster yourself and remove sie-fleet:hfToken, or use cluster.deployWith: helm");
  }
}
