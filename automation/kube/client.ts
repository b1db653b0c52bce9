/**
 * KubeClient: the engine's handle on one cluster, made from a kubeconfig file path or its
 * content. The kubeconfig itself is never stored on the object in readable form, logged or put
 * in errors; `toString()` and JSON show only the API server URL. What the engine does with the
 * cluster is in the kube/ modules, each a function of `client.api`.
 */
import { KubeApi, loadKubeConfig, type KubeConfigSource } from "./api.js";
import { type HttpFetch, kubeFetch } from "./apiProxy.js";

export type KubeClientOptions = KubeConfigSource;

export class KubeClient {
  /** fetch() that reaches in-cluster Services through this cluster's API server (see apiProxy.ts). */
  readonly http: HttpFetch;

  private constructor(readonly api: KubeApi) {
    this.http = kubeFetch(api.config);
  }

  static fromKubeconfig(opts: KubeClientOptions): KubeClient {
    return new KubeClient(new KubeApi(loadKubeConfig(opts)));
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
}
