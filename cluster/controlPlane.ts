/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler built from Go modules (scripts/ensure-kube-tools), with kwok standing in for the
 * kubelets of fake GPU nodes. It backs the `local` platform (through the cluster daemon, see
 * daemon.ts and index.ts) and tests that want a cluster of their own.
 *
 *   const cp = await startControlPlane({ dir });
 *   try { ... use cp.kubeconfigPath ... } finally { await cp.stop(); }
 *
 * A directory is one cluster: started again on the same `dir`, it keeps its CA and certificates,
 * its etcd data and its ports (ports.json), so the API server URL, the CA and every object stay
 * the same and Pulumi sees the same cluster. Pods get their status from kwok stages generated from
 * the fault table (kwokStagesFile): Ready, or a pod fault (-crashloop, -pullerr, -noready) from
 * the image tag or the pod's fault annotation.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { applyCrds, createUnlessExists, yamlFiles } from "./apply.js";
import { claimClusterDir } from "./clusterDir.js";
import { kwokStages } from "./endpoints/kwokStages.js";
import { issueServingCert, kubeconfig, makePki, opensslMissing, type Pki } from "./certs.js";
import { defaultNodes, KWOK_NODE_LABEL, KWOK_NODE_VALUE, nodeObject, type FakeNodeSpec } from "./nodes.js";
import { stablePorts } from "./ports.js";
import { httpGet, Proc, waitFor } from "./procs.js";
import { findKubeTools, kubeToolVersions, kwokCrdFiles, type KubeToolsBuild } from "./tools.js";

export interface StartControlPlaneOptions {
  /** The cluster's directory: certificates, etcd data, ports, kubeconfigs and one log per component (logs/). */
  dir: string;
  /** Fake nodes to register (default: the GKE fleet of nodes.ts defaultNodes). Nodes that exist already are kept. */
  nodes?: readonly FakeNodeSpec[];
  /** Create or update KEDA's CRDs (default true). */
  kedaCrds?: boolean;
  /** Budget for the whole start (default 180 s: the apiserver alone takes ~15 s on a busy 2-core machine). */
  timeoutMs?: number;
  /** One line per step, and any port that had to move. */
  onProgress?: (line: string) => void;
  /** The binaries to run (default: findKubeTools(), which never builds). */
  tools?: KubeToolsBuild;
}

export interface ComponentInfo {
  name: string;
  pid: number | undefined;
  log: string;
}

/**
 * kwok's kubelet server: what the fake nodes advertise as their kubelet (InternalIP `nodeIP`,
 * port `port`), served by kwok on 127.0.0.1:`port`. The API server's kubelet calls (logs,
 * port-forward) reach it through the egress (cluster/endpoints/egress.ts pipes them there), and
 * it answers from kwok `Logs` and `PortForward` objects, one per pod, when `crds` (the endpoint
 * server writes them). No `Exec` objects exist: kwok's exec would run the command on this machine.
 */
export interface KubeletServer {
  nodeIP: string;
  port: number;
  /** Where the per-pod log files that `Logs` objects name live: `<dir>/pod-logs`. */
  podLogsDir: string;
  /** kwok watches `Logs` and `PortForward` objects (their CRDs are installed); false says why not in `why`. */
  crds: boolean;
  why?: string;
}

export interface ControlPlane {
  /** Admin kubeconfig (system:masters), certificates embedded; always `<dir>/kubeconfig`. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  dir: string;
  logDir: string;
  /** The cluster's CA and keys, for add-ons that need a certificate (see kedaOperator.ts). */
  pki: Pki;
  /** True when `dir` held a cluster already (its etcd data and CA were reused). */
  restarted: boolean;
  /** Milliseconds per start step, and `total`. */
  timings: Record<string, number>;
  /** What the fake nodes' kubelet is (kwok's server). */
  kubelet: KubeletServer;
  versions: { kubernetes: string; etcd: string; kwok: string };
  components(): ComponentInfo[];
  /** Resolves when a component exits on its own (not through stop()); never resolves otherwise. */
  died: Promise<{ name: string; exit: string; log: string }>;
  /** A client config loaded from kubeconfigPath. */
  kubeConfig(): k8s.KubeConfig;
  /** Kills every component (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

/** The cluster's Service range; the first address is the `kubernetes` Service. */
const SERVICE_CIDR = "10.96.0.0/16";
/** What kwok writes into pod and node status. The API server reaches them only through the egress socket (see egressSocketPath). */
const POD_CIDR = "10.244.0.0/16";
const NODE_IP = "10.240.0.1";
/** The aggregation layer's client certificate name, the only one whose X-Remote-* headers extension API servers trust. */
const FRONT_PROXY_CLIENT = "front-proxy-client";
const PORT_NAMES = ["etcd", "etcdPeer", "apiserver", "controllerManager", "scheduler", "kubelet"] as const;
/** The kwok CRDs whose objects the endpoint server writes per SIE pod (`--enable-crds`): plural file stem and Kind. */
const KWOK_CRDS = [
  ["logs", "Logs"],
  ["portforwards", "PortForward"],
] as const;

/**
 * The cluster network as the API server sees it: every connection it opens to a pod or node
 * (pod and service proxy, logs, exec) is an HTTP CONNECT over this Unix socket (the "cluster"
 * egress of its EgressSelectorConfiguration). The SIE endpoint server listens there and answers as
 * the pod with that IP (cluster/endpoints/egress.ts); while nothing listens, every such dial fails,
 * as it would to pods that run no code.
 */
export function egressSocketPath(dir: string): string {
  return path.join(path.resolve(dir), "egress.sock");
}

/**
 * The kwok Stage configuration passed to kwok: what each pod's and node's status becomes,
 * generated from the fault table (cluster/faults.ts) at every start.
 */
export function kwokStagesFile(dir: string, kubeletPort?: number): string {
  const file = path.join(dir, "kwok-stages.yaml");
  fs.writeFileSync(file, kwokStages(kubeletPort));
  return file;
}

export async function startControlPlane(opts: StartControlPlaneOptions): Promise<ControlPlane> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  let mark = t0;
  const progress = opts.onProgress ?? (() => undefined);
  const step = (name: string, line: string): void => {
    const now = Date.now();
    timings[name] = now - mark;
    mark = now;
    progress(`${line} (${((timings[name] ?? 0) / 1000).toFixed(1)}s)`);
  };

  const found = opts.tools ?? findKubeTools();
  if ("ok" in found && !found.ok) throw new Error(found.reason);
  const tools = found as KubeToolsBuild;
  const noOpenssl = opensslMissing();
  if (noOpenssl) throw new Error(noOpenssl);

  const dir = path.resolve(opts.dir);
  claimClusterDir(dir);
  const logDir = path.join(dir, "logs");
  const restarted = fs.existsSync(path.join(dir, "etcd", "member"));
  for (const d of [dir, logDir, path.join(dir, "etcd"), path.join(dir, "kcm"), path.join(dir, "scheduler")]) fs.mkdirSync(d, { recursive: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const left = (): number => Math.max(1_000, deadline - Date.now());

  const procs: Proc[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Reverse start order: clients first, so none of them logs a storm of connection errors.
    for (const p of [...procs].reverse()) await p.stop();
  };

  try {
    const ports = await stablePorts(dir, PORT_NAMES, (line) =>
      progress(
        `${line}${line.includes("apiserver") ? " (the API server URL changes: kubeconfigs and Pulumi stacks that name the old one see a different cluster)" : ""}`,
      ),
    );
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const pki = makePki(path.join(dir, "pki"), [
      { name: "admin", user: "sie-fleet-admin", groups: ["system:masters"] },
      { name: "kcm", user: "system:kube-controller-manager" },
      { name: "scheduler", user: "system:kube-scheduler" },
      // kwok writes node and pod status and leases for every fake node, as a kubelet would for its own.
      { name: "kwok", user: "kwok-controller", groups: ["system:masters"] },
      // What the API server presents to kubelets (kwok does not ask for it; a real kubelet would).
      { name: "apiserver-kubelet-client", user: "kube-apiserver-kubelet-client", groups: ["system:masters"] },
      // What the aggregation layer presents to extension API servers (KEDA's metrics API server),
      // which trust the X-Remote-User it forwards only from this name.
      { name: FRONT_PROXY_CLIENT, user: FRONT_PROXY_CLIENT },
    ]);
    // The API server verifies kwok's kubelet server against the cluster CA, at the nodes' IP it dials.
    const kubeletServing = issueServingCert(pki, "kwok-kubelet", [NODE_IP]);
    const kubeconfigPath = path.join(dir, "kubeconfig");
    const kcFor = (name: string, user: string): string => {
      const file = name === "admin" ? kubeconfigPath : path.join(dir, `${name}.kubeconfig`);
      fs.writeFileSync(file, kubeconfig(server, pki.caCert, pki.clients[name]!, user), { mode: 0o600 });
      return file;
    };
    const adminKc = kcFor("admin", "sie-fleet-admin");
    const kcmKc = kcFor("kcm", "system:kube-controller-manager");
    const schedKc = kcFor("scheduler", "system:kube-scheduler");
    const kwokKc = kcFor("kwok", "kwok-controller");
    step("pki", pki.reused ? "certificates reused" : "certificates made");

    const etcd = start(procs, logDir, "etcd", tools.bin("etcd"), etcdArgs(dir, ports.etcd, ports.etcdPeer));
    await waitFor("etcd /health", async () => ((await httpGet(`http://127.0.0.1:${ports.etcd}/health`)).body.includes('"true"') ? true : undefined), {
      timeoutMs: left(),
      watch: [etcd],
    });
    step("etcd", `etcd ready${restarted ? " (existing data)" : ""}`);

    const apiserver = start(procs, logDir, "kube-apiserver", tools.bin("kube-apiserver"), apiserverArgs(dir, pki, ports.apiserver, ports.etcd));
    const adminTls = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.clients["admin"]!.cert), key: fs.readFileSync(pki.clients["admin"]!.key) };
    await waitFor("kube-apiserver /readyz", async () => ((await httpGet(`${server}/readyz`, adminTls)).status === 200 ? true : undefined), {
      timeoutMs: left(),
      intervalMs: 250,
      watch: [etcd, apiserver],
    });
    step("apiserver", `kube-apiserver ready at ${server}`);

    const kcm = start(procs, logDir, "kube-controller-manager", tools.bin("kube-controller-manager"), kcmArgs(dir, pki, kcmKc, ports.controllerManager));
    const scheduler = start(procs, logDir, "kube-scheduler", tools.bin("kube-scheduler"), schedulerArgs(dir, schedKc, ports.scheduler));
    const all = [etcd, apiserver, kcm, scheduler];

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(adminKc);
    // The CRDs and nodes go in while the controllers start: both only need the API server.
    if (opts.kedaCrds ?? true) await applyCrds(kc, yamlFiles(path.join(tools.root, "crds")), left());
    // kwok watches these kinds from its start (--enable-crds), so they go in first; without them
    // kwok still plays the nodes and pods, and kubectl logs and port-forward say there is nothing.
    const kwokCrds = kwokCrdFiles(KWOK_CRDS.map(([file]) => file));
    if (kwokCrds.ok) await applyCrds(kc, kwokCrds.files, left());
    else progress(`no kubectl logs or port-forward of pods: ${kwokCrds.reason}`);
    const nodes = opts.nodes ?? defaultNodes();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    let created = 0;
    for (const n of nodes) if (await createUnlessExists(() => core.createNode({ body: nodeObject(n) }))) created++;
    step(
      "objects",
      `${(opts.kedaCrds ?? true) ? "KEDA CRDs applied, " : ""}${kwokCrds.ok ? "kwok Logs and PortForward CRDs applied, " : ""}${created} of ${nodes.length} fake nodes registered (${nodes.length - created} existed)`,
    );

    for (const [what, port] of [
      ["kube-controller-manager", ports.controllerManager],
      ["kube-scheduler", ports.scheduler],
    ] as const) {
      // They serve a self-signed certificate of their own; only liveness matters here.
      await waitFor(
        `${what} /healthz`,
        async () => ((await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200 ? true : undefined),
        {
          timeoutMs: left(),
          intervalMs: 250,
          watch: all,
        },
      );
    }
    step("controllers", "kube-controller-manager and kube-scheduler healthy");

    const kwok = start(procs, logDir, "kwok", tools.bin("kwok"), [
      `--kubeconfig=${kwokKc}`,
      `--config=${kwokStagesFile(dir, ports.kubelet)}`,
      // Its kubelet server: loopback only (the API server reaches it through the egress), with a
      // certificate from the cluster CA. Exec, attach and the rest answer that nothing is configured.
      `--server-address=127.0.0.1:${ports.kubelet}`,
      `--node-port=${ports.kubelet}`,
      `--tls-cert-file=${kubeletServing.cert}`,
      `--tls-private-key-file=${kubeletServing.key}`,
      ...(kwokCrds.ok ? [`--enable-crds=${KWOK_CRDS.map(([, kind]) => kind).join(",")}`] : []),
      "--manage-all-nodes=false",
      `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}=${KWOK_NODE_VALUE}`,
      `--cidr=${POD_CIDR}`,
      `--node-ip=${NODE_IP}`,
      "--node-lease-duration-seconds=40",
    ]);
    all.push(kwok);
    const names = new Set(nodes.map((n) => n.name));
    await waitFor(
      `${nodes.length} fake nodes Ready`,
      async () => {
        const list = await core.listNode({ labelSelector: `${KWOK_NODE_LABEL}=${KWOK_NODE_VALUE}` });
        const ready = list.items.filter(
          (n) => names.has(n.metadata?.name ?? "") && n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length >= nodes.length ? true : undefined;
      },
      { timeoutMs: left(), intervalMs: 250, watch: all },
    );
    // The serviceaccount controller makes `default` in each namespace; pods are refused until then.
    await waitFor(
      "the default ServiceAccount",
      async () => ((await core.readNamespacedServiceAccount({ name: "default", namespace: "default" })) ? true : undefined),
      {
        timeoutMs: left(),
        intervalMs: 250,
        watch: all,
      },
    );
    step("nodes", `kwok running, ${nodes.length} fake nodes Ready`);
    timings["total"] = Date.now() - t0;

    const died = new Promise<{ name: string; exit: string; log: string }>((resolve) => {
      for (const p of procs) void p.exited.then((exit) => (stopping ? undefined : resolve({ name: p.name, exit, log: p.logPath })));
    });
    return {
      kubeconfigPath,
      server,
      dir,
      logDir,
      pki,
      restarted,
      timings,
      kubelet: {
        nodeIP: NODE_IP,
        port: ports.kubelet,
        podLogsDir: path.join(dir, "pod-logs"),
        crds: kwokCrds.ok,
        ...(kwokCrds.ok ? {} : { why: kwokCrds.reason }),
      },
      versions: kubeToolVersions(),
      components: () => procs.map((p) => ({ name: p.name, pid: p.pid, log: p.logPath })),
      died,
      kubeConfig: () => {
        const c = new k8s.KubeConfig();
        c.loadFromFile(kubeconfigPath);
        return c;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function start(procs: Proc[], logDir: string, name: string, bin: string, args: readonly string[]): Proc {
  // KUBECONFIG from the caller's shell must not leak into a component's client.
  const env = { ...process.env };
  delete env["KUBECONFIG"];
  const p = new Proc(name, bin, args, logDir, env);
  procs.push(p);
  return p;
}

function etcdArgs(dir: string, port: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name=sie-fleet",
    `--data-dir=${path.join(dir, "etcd")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=sie-fleet=${peer}`,
    // Skipping fsync keeps a busy disk from stalling the apiserver. A killed etcd loses nothing
    // (the page cache survives the process); only a machine crash could cost the last writes.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

function apiserverArgs(dir: string, pki: Pki, port: number, etcdPort: number): string[] {
  // Every connection the apiserver opens into the cluster (pod/node/service proxy, logs, exec)
  // goes through the "cluster" egress, so the fake pod and node addresses are never dialled
  // directly: see egressSocketPath.
  const egress = path.join(dir, "egress.yaml");
  fs.writeFileSync(
    egress,
    [
      "apiVersion: apiserver.k8s.io/v1beta1",
      "kind: EgressSelectorConfiguration",
      "egressSelections:",
      "- name: cluster",
      "  connection:",
      "    proxyProtocol: HTTPConnect",
      "    transport:",
      "      uds:",
      `        udsName: ${egressSocketPath(dir)}`,
      "",
    ].join("\n"),
  );
  return [
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--cert-dir=${path.join(dir, "pki")}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=RBAC",
    "--allow-privileged=true",
    // The `kubernetes` Service's endpoints would be 127.0.0.1, which endpoint validation refuses.
    "--endpoint-reconciler-type=none",
    `--egress-selector-config-file=${egress}`,
    // Kubelet calls (logs, port-forward) dial the node's InternalIP, which the egress pipes to
    // kwok's kubelet server; its certificate is the cluster CA's, as a kubelet's serving one would be.
    "--kubelet-preferred-address-types=InternalIP",
    `--kubelet-certificate-authority=${pki.caCert}`,
    `--kubelet-client-certificate=${pki.clients["apiserver-kubelet-client"]!.cert}`,
    `--kubelet-client-key=${pki.clients["apiserver-kubelet-client"]!.key}`,
    // The aggregation layer, for APIServices such as KEDA's external.metrics.k8s.io: requests are
    // proxied with the front-proxy client certificate and X-Remote-* headers, as kubeadm sets it up
    // (one CA here; the allowed name keeps any other cluster client from asserting a user).
    `--requestheader-client-ca-file=${pki.caCert}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${pki.clients[FRONT_PROXY_CLIENT]!.cert}`,
    `--proxy-client-key-file=${pki.clients[FRONT_PROXY_CLIENT]!.key}`,
    // Dial the APIService's endpoint (a pod IP, which the egress routes) rather than its ClusterIP,
    // which nothing here routes: kube-proxy is not run.
    "--enable-aggregator-routing=true",
    "--profiling=false",
  ];
}

/** What kube-controller-manager and kube-scheduler share: one kubeconfig for everything, loopback, no leader election. */
function controllerArgs(kc: string, port: number, certDir: string): string[] {
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
}

function kcmArgs(dir: string, pki: Pki, kc: string, port: number): string[] {
  return [
    ...controllerArgs(kc, port, path.join(dir, "kcm")),
    // Each controller acts as its own service account under RBAC, as on a real control plane.
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
  ];
}

function schedulerArgs(dir: string, kc: string, port: number): string[] {
  return controllerArgs(kc, port, path.join(dir, "scheduler"));
}
