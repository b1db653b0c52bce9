// The Helm baseline of P2/P3: a second release of the same chart with the same values, installed
// and upgraded by the helm client itself into a namespace of its own on the bench cluster, the
// way a Helm user guards an upgrade: `helm upgrade --atomic --timeout 5m`. --atomic waits until
// every resource is Ready or the timeout passes; on failure it rolls back to the last deployed
// revision (waiting again) and only then exits non-zero. It never looks at what Ready pods answer.
//
// The values are the ones Pulumi gave the bench stack's release (`helm get values`), so both
// releases render the same objects. The twin is installed without sie-fleet's post-renderer
// (infra/release/helm/keepWorkerReplicas.mjs): a plain Helm user has none, and the chart then sets
// each pool's worker count to its minReplicas, the count the stack seeds.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ensureKubernetesTools } from "../automation/engine/kubernetesPlugin.js";
import { helm, helmEnv } from "../test/chart/helm.js";
import { run, waitAllReady, type Proc } from "./fixture.js";

/** What the baseline passes to --timeout: Helm's own default (helm.sh/docs/helm/helm_upgrade: --timeout 5m0s). */
export const HELM_ATOMIC_TIMEOUT = "5m";

/**
 * The chart values buildManagedValues (infra/release/releaseValues.ts) sets from
 * `release.imageTag`: what `sie-fleet upgrade --to <tag>` changes on the local stack.
 */
export const IMAGE_TAG_KEYS = ["gateway.image.tag", "config.image.tag", "workers.common.image.tag"] as const;

/** What helm --debug logs when --atomic gives up on an upgrade and starts the rollback (pkg/action/upgrade.go, failRelease). */
const ROLLBACK_LINE = /atomic is set, rolling back/i;

export interface HelmTwin {
  namespace: string;
  release: string;
  chartDir: string;
  kubeconfigPath: string;
  waitAllReady(timeoutMs?: number): Promise<number>;
  remove(): Promise<void>;
}

export interface HelmTwinOptions {
  kubeconfigPath: string;
  /** The release whose values the twin copies, and its namespace. */
  release: string;
  fromNamespace: string;
  chartDir: string;
  namespace: string;
}

const kube = (kubeconfigPath: string) => ["--kubeconfig", kubeconfigPath];

/** `helm install` of the same chart with the values of `fromNamespace`'s release, waited for. */
export async function installHelmTwin(o: HelmTwinOptions): Promise<HelmTwin> {
  const values = await helm(["get", "values", o.release, "--namespace", o.fromNamespace, ...kube(o.kubeconfigPath), "--output", "json"]);
  const valuesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-bench-helm-")), "values.json");
  fs.writeFileSync(valuesFile, values);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const remove = async () => {
    await core.deleteNamespace({ name: o.namespace }).catch(() => undefined);
    fs.rmSync(path.dirname(valuesFile), { recursive: true, force: true });
  };
  try {
    await helm([
      "install",
      o.release,
      o.chartDir,
      "--namespace",
      o.namespace,
      "--create-namespace",
      "--values",
      valuesFile,
      ...kube(o.kubeconfigPath),
      "--wait",
      "--timeout",
      HELM_ATOMIC_TIMEOUT,
    ]);
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    namespace: o.namespace,
    release: o.release,
    chartDir: o.chartDir,
    kubeconfigPath: o.kubeconfigPath,
    waitAllReady: (timeoutMs) => waitAllReady(apps, o.namespace, timeoutMs),
    remove,
  };
}

export interface HelmAtomicRun {
  proc: Proc;
  /** Epoch ms at spawn. */
  startedAt: number;
  /** Epoch ms when helm logged that --atomic rolls back; undefined when it did not. */
  rollbackAt?: number;
  /** Helm's last stderr line that is not debug output (`Error: UPGRADE FAILED: …`), if any. */
  error?: string;
}

/** `helm upgrade --atomic --timeout 5m --reuse-values --set <tag keys>=<tag>`, with --debug so the rollback's start is seen. */
export async function helmAtomicUpgrade(twin: HelmTwin, tag: string): Promise<HelmAtomicRun> {
  const { helmBin } = await ensureKubernetesTools();
  const args = [
    "upgrade",
    twin.release,
    twin.chartDir,
    "--namespace",
    twin.namespace,
    ...kube(twin.kubeconfigPath),
    "--atomic",
    "--timeout",
    HELM_ATOMIC_TIMEOUT,
    "--reuse-values",
    ...IMAGE_TAG_KEYS.flatMap((k) => ["--set", `${k}=${tag}`]),
    "--debug",
  ];
  let rollbackAt: number | undefined;
  let tail = "";
  const startedAt = Date.now();
  const proc = await run(helmBin, args, {
    cwd: os.tmpdir(),
    env: helmEnv(),
    onStderr(chunk) {
      if (rollbackAt !== undefined) return;
      tail = (tail + chunk).slice(-4096);
      if (ROLLBACK_LINE.test(tail)) rollbackAt = Date.now();
    },
  });
  const error = proc.stderr
    .split("\n")
    .filter((l) => l.startsWith("Error:"))
    .at(-1);
  return { proc, startedAt, ...(rollbackAt !== undefined ? { rollbackAt } : {}), ...(error ? { error } : {}) };
}

/** What a person does once they notice a bad version Helm let through: `helm rollback --wait`; resolves with its wall time in ms. */
export async function helmRollbackByHand(twin: HelmTwin): Promise<number> {
  const t0 = performance.now();
  await helm(["rollback", twin.release, "--namespace", twin.namespace, ...kube(twin.kubeconfigPath), "--wait", "--timeout", HELM_ATOMIC_TIMEOUT]);
  return performance.now() - t0;
}
