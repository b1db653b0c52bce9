/**
 * Karpenter in the embedded cluster: the node autoscaler the EKS stacks install, with its kwok
 * cloud provider (`sigs.k8s.io/karpenter/kwok`, built by `scripts/ensure-kube-tools --karpenter`)
 * in place of EC2. It runs Karpenter's real provisioning and disruption controllers: a Pending pod
 * that fits a NodePool gets a NodeClaim, the provider creates a Node labelled for kwok after the
 * node class's registration delay (the time a GPU instance takes to boot and join), kwok plays its
 * kubelet, and an empty node is removed after the NodePool's `consolidateAfter`.
 *
 * The process runs beside the control plane, as the chart's service account `karpenter:karpenter`
 * under the chart's RBAC; nothing dials it (no webhooks, no conversion), so it needs no pod.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { applyCrds, applyObjects } from "../apply.js";
import { issueClientCert, kubeconfig } from "../certs.js";
import type { ControlPlane } from "../controlPlane.js";
import { freePort } from "../ports.js";
import { httpGet, Proc, waitFor } from "../procs.js";
import { findKarpenter, type KarpenterBuild } from "../tools.js";
import type { KwokInstanceType } from "./instanceTypes.js";

const KARPENTER_NAMESPACE = "karpenter";
const SERVICE_ACCOUNT_USER = `system:serviceaccount:${KARPENTER_NAMESPACE}:karpenter`;
/** What the provider logs, and then runs on with no instance types at all, when the file is unusable. */
const BAD_INSTANCE_TYPES = "failed constructing instance types";

export interface ClusterKarpenter {
  version: string;
  proc: Proc;
  /** Resolves when the process exits on its own, with why. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

/** What Karpenter scales: JSON, so the daemon can take it from a file beside the cluster. */
export interface KarpenterSpec {
  /** The provider's catalogue: what it can launch (instanceTypes.ts). */
  instanceTypes: KwokInstanceType[];
  /** KWOKNodeClasses and NodePools (nodePools.ts), applied once Karpenter runs. */
  nodeClasses: k8s.KubernetesObject[];
  nodePools: k8s.KubernetesObject[];
}

export interface StartClusterKarpenterOptions {
  cluster: Pick<ControlPlane, "dir" | "server" | "pki" | "logDir" | "kubeConfig">;
  spec: KarpenterSpec;
  log: (line: string) => void;
  /** Default: findKarpenter(), which never builds. */
  build?: KarpenterBuild;
  /** For Karpenter to be ready and its NodePools Ready (default 90 s). */
  timeoutMs?: number;
}

/**
 * Installs and starts Karpenter. Undefined, after saying why, when it is not built: the cluster
 * works on with the nodes it has, as a cluster without a node autoscaler does.
 */
export async function startClusterKarpenter(o: StartClusterKarpenterOptions): Promise<ClusterKarpenter | undefined> {
  let build = o.build;
  if (!build) {
    const found = findKarpenter();
    if (!found.ok) {
      o.log(`no node autoscaler in the cluster: ${found.reason}`);
      return undefined;
    }
    build = found;
  }
  const { cluster } = o;
  const timeoutMs = o.timeoutMs ?? 90_000;
  const kc = cluster.kubeConfig();
  await applyCrds(kc, build.crdFiles, timeoutMs);
  await applyObjects(kc, build.installFiles.flatMap(objectsOf));

  const dir = path.join(cluster.dir, "karpenter");
  fs.mkdirSync(dir, { recursive: true });
  const identity = issueClientCert(
    cluster.pki.dir,
    { name: "karpenter-sa", user: SERVICE_ACCOUNT_USER, groups: ["system:serviceaccounts", `system:serviceaccounts:${KARPENTER_NAMESPACE}`] },
    dir,
  );
  const kubeconfigPath = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfigPath, kubeconfig(cluster.server, cluster.pki.caCert, identity, SERVICE_ACCOUNT_USER), { mode: 0o600 });
  const instanceTypesPath = path.join(dir, "instance-types.json");
  fs.writeFileSync(instanceTypesPath, JSON.stringify(o.spec.instanceTypes, null, 1));

  // Karpenter binds both ports on every interface (it has no bind-address setting); free ones
  // keep two clusters on one machine apart.
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env };
  // An inherited in-cluster address would win over nothing here, but keep the process's view the kubeconfig's.
  delete env["KUBERNETES_SERVICE_HOST"];
  delete env["KUBERNETES_SERVICE_PORT"];
  Object.assign(env, {
    // Karpenter parses its own flag set and panics on an unknown flag, so the kubeconfig goes by env.
    KUBECONFIG: kubeconfigPath,
    INSTANCE_TYPES_FILE_PATH: instanceTypesPath,
    DISABLE_LEADER_ELECTION: "true",
    METRICS_PORT: String(metricsPort),
    HEALTH_PROBE_PORT: String(healthPort),
    LOG_LEVEL: "info",
  });
  const logStart = fileSize(path.join(cluster.logDir, "karpenter.log"));
  const proc = new Proc("karpenter", build.bin, [], cluster.logDir, env);
  const stop = () => proc.stop();
  try {
    await waitFor(
      "Karpenter ready (its CRDs mapped, controllers started)",
      async () => ((await httpGet(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined),
      { timeoutMs, intervalMs: 500, watch: [proc] },
    );
    const logged = fs.readFileSync(proc.logPath, "utf8").slice(logStart);
    if (logged.includes(BAD_INSTANCE_TYPES)) {
      throw new Error(`Karpenter could not read its instance types (${instanceTypesPath}): see ${proc.logPath}`);
    }
    await applyObjects(kc, [...o.spec.nodeClasses, ...o.spec.nodePools]);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const pool of o.spec.nodePools) {
      const name = pool.metadata?.name ?? "";
      await waitFor(
        `NodePool ${name} Ready`,
        async () => {
          const got = (await custom.getClusterCustomObject({ group: "karpenter.sh", version: "v1", plural: "nodepools", name })) as {
            status?: { conditions?: { type: string; status: string }[] };
          };
          return got.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined;
        },
        { timeoutMs, intervalMs: 500, watch: [proc] },
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { version: build.version, proc, exited: proc.exited.then((exit) => `karpenter ${exit} (see ${proc.logPath})`), stop };
}

function objectsOf(file: string): k8s.KubernetesObject[] {
  return (k8s.loadAllYaml(fs.readFileSync(file, "utf8")) as (k8s.KubernetesObject | null)[]).filter((o): o is k8s.KubernetesObject => !!o?.kind);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
