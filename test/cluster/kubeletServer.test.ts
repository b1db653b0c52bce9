// kubectl logs and port-forward of SIE pods without a cluster: the pods' log files (podLogs.ts),
// the kwok Logs and PortForward objects that point kwok's kubelet server at them
// (kubeletObjects.ts), the nodes' kubelet port through the egress (egressForward.ts dialKubelet),
// the node stages that advertise it, and the port-forward command (egressDial.mjs) against a
// real egress socket. test/slow/cluster/apiProxy.test.ts drives it all with kubectl.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialSiePods, startEgressProxy, type EgressProxy } from "../../cluster/endpoints/egress.js";
import { dialKubelet } from "../../cluster/endpoints/egressForward.js";
import { Gateway, GatewayState } from "../../cluster/endpoints/gateway.js";
import { closeServer, listen } from "../../cluster/endpoints/http.js";
import { EGRESS_DIAL_SCRIPT, logsObject, portForwardObject } from "../../cluster/endpoints/kubeletObjects.js";
import { kwokStages } from "../../cluster/endpoints/kwokStages.js";
import { EndpointMetrics } from "../../cluster/endpoints/metrics.js";
import { DEFAULT_MODELS } from "../../cluster/endpoints/models.js";
import { NamespaceView } from "../../cluster/endpoints/namespaceView.js";
import { criLine, PodLogs, podLogFileName, requestLine, startLine } from "../../cluster/endpoints/podLogs.js";
import type { NamespaceObjects } from "../../cluster/endpoints/poller.js";
import { toSiePod, type SiePod } from "../../cluster/endpoints/view.js";

const execFileP = promisify(execFile);
const SELECTOR = { "app.kubernetes.io/name": "sie-cluster", "app.kubernetes.io/instance": "sie" };

function v1Pod(name: string, component: string, image: string, ip: string, running = true): V1Pod {
  return {
    metadata: {
      name,
      namespace: "a",
      uid: `uid-${name}`,
      labels: { ...SELECTOR, "app.kubernetes.io/component": component, "sie.superlinked.com/pool": "cpu" },
    },
    spec: { containers: [{ name: component, image, ports: [{ name: "http", containerPort: 8080 }] }] },
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: "Ready", status: running ? "True" : "False" }],
      containerStatuses: [
        {
          name: component,
          image,
          imageID: "",
          ready: running,
          restartCount: 0,
          state: running ? { running: {} } : { waiting: { reason: "CrashLoopBackOff" } },
        },
      ],
    },
  };
}

const siePod = (p: V1Pod): SiePod => toSiePod(p, p.metadata!.labels!["app.kubernetes.io/component"] as SiePod["component"], () => undefined);

describe("pod log lines", () => {
  const gw = siePod(v1Pod("gw-0", "gateway", "ghcr.io/superlinked/sie-gateway:v0.3.1-5xx", "10.244.0.2"));

  it("are CRI container log lines, one per line", () => {
    expect(criLine(new Date("2026-01-02T03:04:05.678Z"), "stderr", "a\nb")).toBe("2026-01-02T03:04:05.678Z stderr F a b\n");
    expect(podLogFileName("ns", "pod-0")).toBe("ns_pod-0.log");
  });

  it("say what started, each request, and ERROR with the fault for a 5xx", () => {
    expect(startLine(gw)).toEqual({
      stream: "stdout",
      message: "INFO sie-gateway 0.3.1-5xx started, listening on :8080 (image ghcr.io/superlinked/sie-gateway:v0.3.1-5xx)",
    });
    expect(requestLine(gw, "GET", "/readyz", 200)).toEqual({ stream: "stdout", message: "INFO request method=GET path=/readyz status=200 version=0.3.1-5xx" });
    expect(requestLine(gw, "POST", "/v1/encode/m", 500)).toEqual({
      stream: "stderr",
      message: "ERROR request failed method=POST path=/v1/encode/m status=500 version=0.3.1-5xx fault=5xx",
    });
  });
});

describe("PodLogs", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-podlogs-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("appends to the files of open pods only, empties a recreated pod's, removes a gone pod's", async () => {
    const logs = new PodLogs(dir);
    const w = siePod(v1Pod("w-0", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.5"));
    const other = siePod(v1Pod("w-1", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.6"));
    const { file, created } = logs.open("a", "w-0", false);
    expect(created).toBe(true);
    expect(logs.open("a", "w-0", false).created).toBe(false);
    logs.served(w, "POST", "/v1/encode/m", 200);
    logs.served(other, "POST", "/v1/encode/m", 200);
    await logs.flush();
    expect(fs.readFileSync(file, "utf8")).toMatch(/^\S+ stdout F INFO request method=POST path=\/v1\/encode\/m status=200 version=0.3.2\n$/);
    expect(logs.files()).toEqual(["a_w-0.log"]);
    logs.open("a", "w-0", true);
    expect(fs.readFileSync(file, "utf8")).toBe("");
    logs.remove("a", "w-0");
    logs.served(w, "GET", "/readyz", 200);
    await logs.stop();
    expect(fs.existsSync(file)).toBe(false);
  });

  it("keeps the newer half of a file that outgrows its bound, from a line start", async () => {
    const logs = new PodLogs(dir, 2_000);
    const w = siePod(v1Pod("w-2", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.7"));
    const { file } = logs.open("a", "w-2", false);
    for (let i = 0; i < 40; i++) logs.served(w, "GET", `/readyz?n=${i}`, 200);
    await logs.stop();
    const text = fs.readFileSync(file, "utf8");
    expect(text.length).toBeLessThanOrEqual(1_000);
    expect(text).toMatch(/^\S+ stdout F INFO request/);
    expect(text).toMatch(/n=39 status=200/);
  });
});

describe("kwok Logs and PortForward objects", () => {
  const w = siePod(v1Pod("w-0", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.5"));

  it("named like the pod, owned by it, pointing at its file and at the egress for each port", () => {
    const meta = { name: "w-0", namespace: "a", ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "w-0", uid: "uid-w-0" }] };
    expect(logsObject(w, "/c/pod-logs/a_w-0.log")).toMatchObject({
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Logs",
      metadata: meta,
      spec: { logs: [{ logsFile: "/c/pod-logs/a_w-0.log" }] },
    });
    expect(portForwardObject(w, "/c/egress.sock", "/usr/bin/node")).toMatchObject({
      kind: "PortForward",
      metadata: meta,
      spec: { forwards: [{ ports: [8080], command: ["/usr/bin/node", EGRESS_DIAL_SCRIPT, "/c/egress.sock", "10.244.0.5:8080"] }] },
    });
  });
});

describe("kwok stages: the nodes' kubelet port", () => {
  type Stage = {
    metadata: { name: string };
    spec: { selector: { matchExpressions: { key: string; values?: string[] }[] }; next: { statusTemplate?: string } };
  };
  const nodeStages = (port?: number) => (k8s.loadAllYaml(kwokStages(port)) as Stage[]).filter((s) => s.metadata.name.startsWith("sie-node-"));

  it("a new node advertises it; a Ready node with another port gets only that changed", () => {
    const [ready, port] = nodeStages(41234);
    expect(ready?.spec.next.statusTemplate).toContain("daemonEndpoints: { kubeletEndpoint: { Port: 41234 } }");
    expect(port?.metadata.name).toBe("sie-node-kubelet-port");
    expect(port?.spec.selector.matchExpressions.at(-1)).toEqual({
      key: ".status.daemonEndpoints.kubeletEndpoint.Port | tostring",
      operator: "NotIn",
      values: ["41234"],
    });
    expect(port?.spec.next.statusTemplate?.trim()).toBe("daemonEndpoints: { kubeletEndpoint: { Port: 41234 } }");
  });

  it("without a kubelet server, no port", () => {
    expect(nodeStages().map((s) => s.metadata.name)).toEqual(["sie-node-ready"]);
    expect(nodeStages()[0]?.spec.next.statusTemplate).not.toContain("daemonEndpoints");
  });
});

describe("through the egress: the nodes' kubelet port, and egressDial.mjs as kwok runs it", () => {
  const objects: NamespaceObjects = {
    services: [],
    statefulSets: [],
    configMaps: [],
    pods: [
      v1Pod("w-0", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-cpu-default", "10.244.0.5"),
      v1Pod("w-crash", "worker", "ghcr.io/superlinked/sie-server:v0.3.2-crashloop-cpu-default", "10.244.0.7", false),
    ],
  };
  let dir: string;
  let proxy: EgressProxy;
  let kubelet: Server;
  let kubeletPort: number;
  let logs: PodLogs;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-kubelet-"));
    kubelet = createServer((req, res) => res.end(`kubelet saw ${req.url}`));
    kubeletPort = Number(new URL(await listen(kubelet, 0)).port);
    const state = new GatewayState();
    const metrics = new EndpointMetrics({
      queueDepth: () => state.queueDepths(),
      pendingDemand: () => state.pendingDemand(),
      workers: () => [],
      namespaces: () => [],
    });
    logs = new PodLogs(path.join(dir, "pod-logs"));
    logs.open("a", "w-0", false);
    const net = {
      views: () => [new NamespaceView("a", objects, [])],
      refresh: async () => undefined,
      gateway: new Gateway(state, metrics, DEFAULT_MODELS, { encodeLatencyMs: 0, encodeJitterMs: 0 }, logs),
      state,
      requestLog: logs,
    };
    const pods = dialSiePods(net);
    const target = { nodeIP: "10.240.0.1", port: kubeletPort };
    proxy = await startEgressProxy(
      path.join(dir, "egress.sock"),
      async (ip, port) => (await dialKubelet(target, ip, port)) ?? pods(ip, port),
      () => undefined,
    );
  });
  afterAll(async () => {
    await proxy.close();
    await logs.stop();
    await closeServer(kubelet);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the script as kwok does: the forwarded stream on stdin and stdout. */
  const dial = (authority: string, input: string) => {
    const p = execFileP(process.execPath, [EGRESS_DIAL_SCRIPT, proxy.socketPath, authority], { encoding: "utf8", timeout: 10_000 });
    p.child.stdin?.end(input);
    return p;
  };

  it("a worker's port: the stream reaches the pod, which answers as itself and logs the request", async () => {
    const { stdout } = await dial("10.244.0.5:8080", "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(stdout).toMatch(/x-sie-server-version: 0\.3\.2\r\n/i);
    expect(stdout).toMatch(/\r\n\r\nok$/);
    await logs.flush();
    expect(fs.readFileSync(logs.file("a", "w-0"), "utf8")).toMatch(/stdout F INFO request method=GET path=\/readyz status=200 version=0\.3\.2\n$/);
  });

  it("the nodes' kubelet port is piped to kwok's server; other node ports and pods not running are refused", async () => {
    const { stdout } = await dial(`10.240.0.1:${kubeletPort}`, "GET /containerLogs/a/w-0/worker HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(stdout).toMatch(/kubelet saw \/containerLogs\/a\/w-0\/worker$/);
    await expect(dial("10.240.0.1:10250", "")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/502 connection refused: node 10.240.0.1 serves only its kubelet port/),
    });
    await expect(dial("10.244.0.7:8080", "")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/502 connection refused: pod a\/w-crash is not running/),
    });
  });
});
