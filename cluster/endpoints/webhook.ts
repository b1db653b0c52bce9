/**
 * Pod faults from scopes, delivered at pod creation: a mutating admission webhook (served here,
 * called by the real API server) annotates a new SIE pod with FAULT_ANNOTATION when a scope
 * covers its namespace, component, pool and version, and the kwok stages (kwokStages.ts) read the
 * annotation when the pod starts. Moved tags (digestMoves.ts) reach new pods the same way, as
 * DIGEST_SALT_ANNOTATION, start delays (startDelays.ts) as START_SECONDS_ANNOTATION, and pull times
 * (pullTimes.ts) as PULL_SECONDS_ANNOTATION with PULL_IMAGE_ANNOTATION, on worker pods and on the
 * chart's image pre-pull pods (component PREPULL_COMPONENT) too.
 *
 * Why a webhook and not "annotate pods the poller finds": the pod is born with the annotation, so
 * it can never be Ready, even for a moment, before its fault applies; a poller would race kwok's
 * pod start (0.3–0.9 s), and a wave's rollout check could see the pod Ready in between.
 *
 * The webhook is registered only once a pod fault scope, a moved tag, a start delay or a pull time
 * exists, with failurePolicy Fail and objectSelector limited to SIE and pre-pull pods: while it is
 * registered, such a pod that could not be checked is not created at all (its controller retries)
 * rather than created without its fault. It is removed when the endpoint server stops.
 */
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { CHART_LABELS } from "../../core/workloads.js";
import { FAULT_ANNOTATION, type PodFault } from "../faults.js";
import { DIGEST_SALT_ANNOTATION } from "./digestMoves.js";
import { readBody, sendJson } from "./http.js";
import { isNotFound } from "./poller.js";
import { PREPULL_COMPONENT, PULL_IMAGE_ANNOTATION, PULL_SECONDS_ANNOTATION } from "./pullTimes.js";
import { START_SECONDS_ANNOTATION } from "./startDelays.js";
import { selfSignedCert } from "./tls.js";
import { COMPONENTS } from "./view.js";

export const WEBHOOK_CONFIGURATION = "sie-fleet-fault-scopes";
/** A dry-run pod with this label proves the API server calls the webhook (it echoes the value). */
const PROBE_LABEL = "faults.sie-fleet.dev/probe";
const PROBE_NAMESPACE = "default";
const READY_TIMEOUT_MS = 30_000;

/** What a new pod must carry; each answers undefined for nothing. */
export interface PodDecisions {
  /** The pod fault, from the scopes. */
  podFault(pod: k8s.V1Pod, namespace: string): PodFault | undefined;
  /** The digest salt of a pod whose tag moved (digestMoves.ts). */
  digestSalt(pod: k8s.V1Pod, namespace: string): string | undefined;
  /** Seconds until its startup probe passes (startDelays.ts). */
  startSeconds(pod: k8s.V1Pod, namespace: string): number | undefined;
  /** The image its node must have before it starts, and how long pulling it takes (pullTimes.ts). */
  pull(pod: k8s.V1Pod, namespace: string): { image: string; seconds: number } | undefined;
}

interface AdmissionRequest {
  uid: string;
  namespace?: string;
  object?: k8s.V1Pod;
}

/** A JSON patch adding `annotations` to `pod` (RFC 6902; "/" in a key is written "~1"). */
function annotate(pod: k8s.V1Pod, annotations: Record<string, string>): unknown[] {
  if (!pod.metadata?.annotations) return [{ op: "add", path: "/metadata/annotations", value: annotations }];
  return Object.entries(annotations).map(([k, v]) => ({ op: "add", path: `/metadata/annotations/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`, value: v }));
}

export class FaultWebhook {
  private server: https.Server | undefined;
  private installing: Promise<void> | undefined;
  private registered = false;
  private readonly admission: k8s.AdmissionregistrationV1Api;
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly decide: PodDecisions,
  ) {
    this.admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  /** Serves and registers the webhook once; resolves when the API server is calling it. */
  ensure(): Promise<void> {
    this.installing ??= this.install().catch((err: unknown) => {
      this.installing = undefined;
      throw err;
    });
    return this.installing;
  }

  async stop(): Promise<void> {
    if (this.registered) {
      await this.admission.deleteMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      this.registered = false;
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async install(): Promise<void> {
    const tls = selfSignedCert("sie-fleet-fault-webhook");
    const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      void this.review(req)
        .then((body) => sendJson(res, 200, body))
        .catch((err: unknown) => sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const body: k8s.V1MutatingWebhookConfiguration = {
      metadata: { name: WEBHOOK_CONFIGURATION, labels: { "app.kubernetes.io/managed-by": "sie-fleet-endpoints" } },
      webhooks: [
        {
          name: "fault-scopes.sie-fleet.dev",
          clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(tls.cert).toString("base64") },
          rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }],
          objectSelector: { matchExpressions: [{ key: CHART_LABELS.component, operator: "In", values: [...COMPONENTS, PREPULL_COMPONENT] }] },
          namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }] },
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 10,
          reinvocationPolicy: "Never",
        },
      ],
    };
    try {
      const existing = await this.admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
      await this.admission.replaceMutatingWebhookConfiguration({
        name: WEBHOOK_CONFIGURATION,
        body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.admission.createMutatingWebhookConfiguration({ body });
    }
    this.registered = true;
    await this.waitCalled();
  }

  /**
   * The API server picks up a new webhook configuration a moment later; until it calls the
   * webhook, a pod created now could miss its fault. A dry-run pod shows when it does.
   */
  private async waitCalled(): Promise<void> {
    const nonce = randomBytes(6).toString("hex");
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "";
    for (;;) {
      try {
        const pod = await this.core.createNamespacedPod({
          namespace: PROBE_NAMESPACE,
          dryRun: "All",
          body: {
            metadata: { name: `sie-fleet-webhook-probe-${nonce}`, labels: { [CHART_LABELS.component]: "worker", [PROBE_LABEL]: nonce } },
            spec: { containers: [{ name: "probe", image: "sie-fleet/webhook-probe:v0" }] },
          },
        });
        if (pod.metadata?.annotations?.[PROBE_LABEL] === nonce) return;
        last = "the API server created the dry-run pod without calling the webhook";
      } catch (err) {
        last = (err as Error).message.split("\n")[0] ?? String(err);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the API server did not call the fault webhook (https://127.0.0.1, MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION}) within ${READY_TIMEOUT_MS / 1000}s: ${last}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async review(req: import("node:http").IncomingMessage): Promise<unknown> {
    const review = JSON.parse(await readBody(req)) as { apiVersion?: string; request?: AdmissionRequest };
    const request = review.request;
    if (!request?.uid) throw new Error("not an AdmissionReview");
    const pod = request.object ?? {};
    const annotations: Record<string, string> = {};
    const probe = pod.metadata?.labels?.[PROBE_LABEL];
    const namespace = request.namespace ?? pod.metadata?.namespace ?? "default";
    if (probe) annotations[PROBE_LABEL] = probe;
    else {
      // What is set on the pod by hand wins, as a hand-set fault does over the image tag.
      const own = pod.metadata?.annotations ?? {};
      const fault = own[FAULT_ANNOTATION] ? undefined : this.decide.podFault(pod, namespace);
      if (fault) annotations[FAULT_ANNOTATION] = fault;
      const salt = own[DIGEST_SALT_ANNOTATION] ? undefined : this.decide.digestSalt(pod, namespace);
      if (salt) annotations[DIGEST_SALT_ANNOTATION] = salt;
      const start = own[START_SECONDS_ANNOTATION] ? undefined : this.decide.startSeconds(pod, namespace);
      if (start !== undefined) annotations[START_SECONDS_ANNOTATION] = String(start);
      const pull = own[PULL_SECONDS_ANNOTATION] ? undefined : this.decide.pull(pod, namespace);
      if (pull) {
        annotations[PULL_SECONDS_ANNOTATION] = String(pull.seconds);
        annotations[PULL_IMAGE_ANNOTATION] = pull.image;
      }
    }
    const patch = Object.keys(annotations).length > 0 ? annotate(pod, annotations) : undefined;
    return {
      apiVersion: review.apiVersion ?? "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: request.uid, allowed: true, ...(patch ? { patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") } : {}) },
    };
  }
}
