/**
 * KubeClient: the engine's handle on one cluster, made from a kubeconfig file path or its
 * content. The kubeconfig itself is never stored on the object in readable form, logged or put
 * in errors; `toString()` and JSON show only the API server URL.
 *
 * The methods are the kube/ functions bound to this client, and `KubeOps` is their interface so
 * engine tests can substitute a fake.
 */
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { UsageError } from "../errors.js";
import { KubeApi } from "./api.js";
import { freezeKeda, thawKeda, type FreezeOptions, type KedaFreezeRecord, type ThawResult } from "./keda.js";
import {
  hold,
  holdWorkers,
  pauseDeployments,
  releaseWave,
  restoreHolds,
  type HoldOptions,
  type HoldRecord,
  type HoldTargets,
  type RestoreResult,
} from "./holds.js";
import { deleteStuckPods, podsOnRevision, type DeleteStuckPodsOptions, type DeleteStuckPodsResult } from "./pods.js";
import { waitForRollout, type RolloutOutcome, type WaitForRolloutOptions } from "./rollout.js";
import type { WorkloadKind } from "./rolloutStatus.js";

export interface KubeClientOptions {
  /** Path to a kubeconfig file. */
  kubeconfigPath?: string;
  /** Kubeconfig content (YAML or JSON), e.g. a stack output. Treated as a secret. */
  kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
}

/** What the upgrade engine needs from a cluster; `KubeClient` implements it. */
export interface KubeOps {
  readonly server: string;
  ping(namespace: string): Promise<void>;
  freezeKeda(namespace: string, opts?: FreezeOptions): Promise<KedaFreezeRecord>;
  thawKeda(record: KedaFreezeRecord): Promise<ThawResult>;
  hold(namespace: string, targets: HoldTargets, opts?: HoldOptions): Promise<HoldRecord>;
  holdWorkers(namespace: string, statefulSets: readonly string[], opts?: HoldOptions): Promise<HoldRecord>;
  pauseDeployments(namespace: string, names: readonly string[], opts?: HoldOptions): Promise<HoldRecord>;
  releaseWave(namespace: string, targets: HoldTargets): Promise<void>;
  restoreHolds(record: HoldRecord): Promise<RestoreResult>;
  waitForRollout(namespace: string, kind: WorkloadKind, name: string, opts: WaitForRolloutOptions): Promise<RolloutOutcome>;
  podsOnRevision(namespace: string, statefulSet: string, revision: string): Promise<k8s.V1Pod[]>;
  deleteStuckPods(namespace: string, statefulSet: string, badRevision: string, opts?: DeleteStuckPodsOptions): Promise<DeleteStuckPodsResult>;
}

export class KubeClient implements KubeOps {
  private constructor(readonly api: KubeApi) {}

  static fromKubeconfig(opts: KubeClientOptions): KubeClient {
    const kc = new k8s.KubeConfig();
    if (opts.kubeconfig !== undefined) {
      try {
        kc.loadFromString(opts.kubeconfig);
      } catch (err) {
        // The parser's message may quote the content; keep only its kind.
        throw new UsageError(`the kubeconfig content could not be parsed (${(err as Error).name}); check the stack output or file it came from`, { code: "bad-kubeconfig" });
      }
    } else if (opts.kubeconfigPath !== undefined) {
      if (!fs.existsSync(opts.kubeconfigPath)) {
        throw new UsageError(`kubeconfig file ${opts.kubeconfigPath} does not exist; pass --kubeconfig or set KUBECONFIG`, { code: "bad-kubeconfig" });
      }
      try {
        kc.loadFromFile(opts.kubeconfigPath);
      } catch (err) {
        throw new UsageError(`kubeconfig file ${opts.kubeconfigPath} could not be parsed (${(err as Error).name})`, { code: "bad-kubeconfig" });
      }
    } else {
      throw new UsageError("no kubeconfig: pass a file path or content", { code: "bad-kubeconfig" });
    }
    if (opts.context !== undefined) {
      if (!kc.getContexts().some((c) => c.name === opts.context)) {
        throw new UsageError(`kubeconfig has no context "${opts.context}"; available: ${kc.getContexts().map((c) => c.name).join(", ") || "(none)"}`, { code: "bad-kubeconfig" });
      }
      kc.setCurrentContext(opts.context);
    }
    if (!kc.getCurrentCluster()) throw new UsageError("kubeconfig has no current cluster; set current-context", { code: "bad-kubeconfig" });
    return new KubeClient(new KubeApi(kc));
  }

  get server(): string {
    return this.api.server;
  }

  toString(): string {
    return `KubeClient(${this.server})`;
  }

  toJSON(): { server: string } {
    return { server: this.server };
  }

  /** Cheap reachability check for preflight: reads the release namespace. */
  async ping(namespace: string): Promise<void> {
    await this.api.readNamespace(namespace);
  }

  freezeKeda(namespace: string, opts?: FreezeOptions): Promise<KedaFreezeRecord> {
    return freezeKeda(this.api, namespace, opts);
  }
  thawKeda(record: KedaFreezeRecord): Promise<ThawResult> {
    return thawKeda(this.api, record);
  }
  hold(namespace: string, targets: HoldTargets, opts?: HoldOptions): Promise<HoldRecord> {
    return hold(this.api, namespace, targets, opts);
  }
  holdWorkers(namespace: string, statefulSets: readonly string[], opts?: HoldOptions): Promise<HoldRecord> {
    return holdWorkers(this.api, namespace, statefulSets, opts);
  }
  pauseDeployments(namespace: string, names: readonly string[], opts?: HoldOptions): Promise<HoldRecord> {
    return pauseDeployments(this.api, namespace, names, opts);
  }
  releaseWave(namespace: string, targets: HoldTargets): Promise<void> {
    return releaseWave(this.api, namespace, targets);
  }
  restoreHolds(record: HoldRecord): Promise<RestoreResult> {
    return restoreHolds(this.api, record);
  }
  waitForRollout(namespace: string, kind: WorkloadKind, name: string, opts: WaitForRolloutOptions): Promise<RolloutOutcome> {
    return waitForRollout(this.api, namespace, kind, name, opts);
  }
  podsOnRevision(namespace: string, statefulSet: string, revision: string): Promise<k8s.V1Pod[]> {
    return podsOnRevision(this.api, namespace, statefulSet, revision);
  }
  deleteStuckPods(namespace: string, statefulSet: string, badRevision: string, opts?: DeleteStuckPodsOptions): Promise<DeleteStuckPodsResult> {
    return deleteStuckPods(this.api, namespace, statefulSet, badRevision, opts);
  }
}
