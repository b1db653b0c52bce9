// The capacity preflight on the real cluster: before anything changes, an upgrade is refused
// (exit 4, rule capacity) when a pool's nodes cannot take its workers again, when the node of a
// worker is NotReady, when a worker is Pending, or when a pool at zero has no room for its probe,
// and the stack is untouched. The stack is platform kubernetes on the lane cluster so its a100
// pool can select a node of this file's own (a kwok node with a label no other stack selects):
// cordoning it or taking it NotReady is felt by no other test.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preview } from "../../automation/actions/preview.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { EXIT_CODES } from "../../core/errors.js";
import { JOURNAL_ACTIONS, readJournal } from "../../automation/journal/journal.js";
import type { HistoryEntry } from "../../automation/actions/history.js";
import { exitCodeForResult } from "../../core/types.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { readClusterInfo } from "../../cluster/daemonState.js";
import { fakeNode, KWOK_NODE_LABEL, KWOK_NODE_VALUE, nodeObject } from "../../cluster/nodes.js";
import { runCliInProcess } from "../automation/inProcessCli.js";
import { helmHistory } from "../support/helmRelease.js";
import { testClusterDir } from "../support/laneCluster.js";
import {
  holdsLeft,
  SCENARIO_TIMEOUT_MS,
  useStackFixture,
  waitFor,
  waitReleaseReady,
  workloadImages,
  withPrometheusChecks,
  type StackConfigMap,
  type StackFixture,
} from "../support/stackFixture.js";

const GROUP_LABEL = "sie-fleet.test/preflight";
const group = randomBytes(3).toString("hex");
const NODE = `pf-${group}-a100`;
const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

function adminCore(): k8s.CoreV1Api {
  const info = readClusterInfo(testClusterDir());
  if (!info) throw new Error(`no lane cluster in ${testClusterDir()}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  return kc.makeApiClient(k8s.CoreV1Api);
}

/** One A100 node as kwok plays it, labelled only for this file: no stack selects it by GPU kind. */
function testNode(): k8s.V1Node {
  const spec = fakeNode("gke", "a100-40gb", "pf", 0);
  return nodeObject({
    ...spec,
    name: NODE,
    labels: { "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", [KWOK_NODE_LABEL]: KWOK_NODE_VALUE, [GROUP_LABEL]: group },
  });
}

const isReadyNode = (n: k8s.V1Node) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

// Registered before the fixture's hooks: the node exists before the stack deploys onto it, and
// is deleted after the fixture deleted the namespace.
beforeAll(async () => {
  const core = adminCore();
  await core.createNode({ body: testNode() });
  await waitFor(`node ${NODE} Ready`, async () => (isReadyNode(await core.readNode({ name: NODE })) ? true : undefined));
});
afterAll(async () => {
  await adminCore()
    .deleteNode({ name: NODE })
    .catch(() => undefined);
});

/** The local stack on platform kubernetes: l4 and cpu on the lane's shared nodes, a100 on this file's node. */
function onOwnNode(c: StackConfigMap): void {
  c["sie-fleet:platform"] = "kubernetes";
  c["sie-fleet:cluster"] = { kubeconfig: readClusterInfo(testClusterDir())?.kubeconfigPath };
  const pools = c["sie-fleet:pools"];
  pools.l4.nodeSelector = { "sie-fleet/gpu": "l4" };
  pools.a100 = { ...pools.a100, minReplicas: 1, maxReplicas: 2, nodeSelector: { [GROUP_LABEL]: group } };
  pools.cpu.nodeSelector = { "sie-fleet/gpu": "cpu" };
}

const fixture = useStackFixture({ config: onOwnNode });

describe("capacity preflight", () => {
  let fx: StackFixture;
  const a100 = () => `${fx.fullname}-worker-a100`;
  beforeAll(() => {
    fx = fixture();
  });

  /** Everything a refused run must leave alone. */
  const untouched = async () => ({
    config: fs.readFileSync(fx.configFile, "utf8"),
    revisions: (await helmHistory(fx)).map((h) => `${h.revision}:${h.status}`),
    images: await workloadImages(fx),
    holds: await holdsLeft(fx),
  });

  async function expectRefused(run: () => Promise<UpgradeResult>, reason: RegExp, rule = "capacity"): Promise<UpgradeResult & { outcome: "refused" }> {
    const before = await untouched();
    const r = await run();
    expect(r.outcome, JSON.stringify(r).slice(0, 3000)).toBe("refused");
    if (r.outcome !== "refused") throw new Error("not refused");
    expect(r).toMatchObject({ refusedBy: "preflight", rule });
    expect(r.reason).toMatch(reason);
    expect(await untouched()).toEqual(before);
    return r;
  }

  async function scaleA100(replicas: number): Promise<void> {
    await fx.apps.patchNamespacedStatefulSetScale({ name: a100(), namespace: fx.namespace, body: { spec: { replicas } } }, MERGE);
  }

  it(
    "a cordoned node cannot take the worker a rollout recreates: refused naming the pool and what is short; preview shows it; --force overrides",
    async () => {
      await fx.core.patchNode({ name: NODE, body: { spec: { unschedulable: true } } }, MERGE);
      try {
        const short = new RegExp(
          `pool a100: 1 worker needs 1 nvidia\\.com/gpu, nodes labelled ${GROUP_LABEL}=${group} have 0 allocatable \\(1 node\\(s\\) cordoned: ${NODE}\\)`,
        );
        const r = await expectRefused(() => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx), short);
        expect(r.capacity?.pools.find((p) => p.pool === "a100")).toMatchObject({ ok: false, replicas: 1, surge: 0, fit: 0 });
        expect(r.capacity?.pools.find((p) => p.pool === "l4")).toMatchObject({ ok: true });

        // The same check in preview's guardrail output, which exits 4.
        const report = await preview({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
        expect(report.guardrails.ok).toBe(false);
        expect(report.capacity?.short).toBe(true);
        const cli = await runCliInProcess(["preview", "--stack", fx.stack, "--to", "v0.3.2"], { cwd: fx.dir, env: { ...fx.ctx.env, CI: "1" } });
        expect(cli.code, cli.stderr).toBe(EXIT_CODES.refused);
        expect(cli.stdout).toMatch(/capacity would refuse:\n {2}✖ pool a100: 1 worker needs 1 nvidia\.com\/gpu/);
        expect(cli.stdout).toMatch(/ {2}✔ pool l4: 1 worker fit/);

        // --force goes past it (a dry run here: the real rollout would wait on the cordoned node),
        // and the journal records that it was forced.
        const forced = await upgrade({ stack: fx.stack, to: "v0.3.2", dryRun: true, force: true }, fx.ctx);
        expect(forced.outcome, JSON.stringify(forced).slice(0, 2000)).toBe("dry-run");
        expect(forced.capacity).toMatchObject({ short: true, forced: true });
        const journal = await readJournal(fx.stateDir, fx.stack, forced.runId);
        const decision = journal.entries.find((e) => e.action === JOURNAL_ACTIONS.preflightCapacity);
        expect(decision?.message).toMatch(/^capacity shortage overridden by --force: pool a100: /);
        expect(journal.entries[0]?.data).toMatchObject({ force: true });
      } finally {
        await fx.core.patchNode({ name: NODE, body: { spec: { unschedulable: false } } }, MERGE);
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "the node of a worker NotReady: refused, naming the worker and the node",
    async () => {
      // kwok keeps its nodes Ready: without its label it lets go, as a kubelet that stopped would.
      await fx.core.patchNode({ name: NODE, body: { metadata: { labels: { [KWOK_NODE_LABEL]: null } } } }, MERGE);
      try {
        const now = new Date();
        await fx.core.patchNodeStatus(
          {
            name: NODE,
            body: {
              status: {
                conditions: [
                  {
                    type: "Ready",
                    status: "False",
                    reason: "KubeletNotReady",
                    message: "container runtime is down",
                    lastHeartbeatTime: now,
                    lastTransitionTime: now,
                  },
                ],
              },
            },
          },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
        );
        const r = await expectRefused(
          () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
          new RegExp(`worker ${a100()}-0 is on node ${NODE}, which is NotReady \\(Ready=(False|Unknown)`),
        );
        expect(r.reason).toMatch(new RegExp(`have 0 allocatable \\(1 node\\(s\\) NotReady: ${NODE}`));
      } finally {
        await fx.core.patchNode({ name: NODE, body: { metadata: { labels: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE } } } }, MERGE);
        // Ready, and rid of the taints the node controller set while it was not.
        await waitFor(`node ${NODE} Ready again`, async () => {
          const n = await fx.core.readNode({ name: NODE });
          return isReadyNode(n) && !(n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/")) ? true : undefined;
        });
        // The node controller marked its pod not Ready; a fresh one starts Ready under kwok.
        const name = `${a100()}-0`;
        const old = (await fx.core.readNamespacedPod({ name, namespace: fx.namespace })).metadata?.uid;
        await fx.core.deleteNamespacedPod({ name, namespace: fx.namespace }).catch(() => undefined);
        await waitFor(`a fresh ${name} Ready`, async () => {
          const p = await fx.core.readNamespacedPod({ name, namespace: fx.namespace });
          return p.metadata?.uid !== old && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined;
        });
        await waitReleaseReady(fx);
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a worker Pending because the pool's nodes are full: refused with the scheduler's reason",
    async () => {
      // What KEDA's HPA would do under load: a second worker, for which the one GPU node has no room.
      await scaleA100(2);
      try {
        await waitFor(`${a100()}-1 unschedulable`, async () => {
          const p = await fx.core.readNamespacedPod({ name: `${a100()}-1`, namespace: fx.namespace });
          return p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False") ? true : undefined;
        });
        await expectRefused(
          () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
          new RegExp(
            `worker ${a100()}-1 is Pending, unschedulable: Unschedulable: 0/\\d+ nodes are available.*; 2 workers need 2 nvidia\\.com/gpu, nodes labelled ${GROUP_LABEL}=${group} have 1 allocatable`,
          ),
        );
      } finally {
        await scaleA100(1);
        await waitReleaseReady(fx);
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a pool at zero whose nodes are taken has no room for its probe: refused; with zeroReplicaPools: report nothing is needed",
    async () => {
      await scaleA100(0);
      // Another workload takes the node's only GPU.
      const blocker: k8s.V1Pod = {
        metadata: { name: "gpu-squatter", namespace: fx.namespace },
        spec: {
          nodeSelector: { [GROUP_LABEL]: group },
          tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
          containers: [{ name: "c", image: "busybox", resources: { requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "1" } } }],
        },
      };
      await fx.core.createNamespacedPod({ namespace: fx.namespace, body: blocker });
      try {
        await waitFor("the squatter bound and the a100 worker gone", async () => {
          const p = await fx.core.readNamespacedPod({ name: "gpu-squatter", namespace: fx.namespace });
          const workers = (
            await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=a100" })
          ).items;
          if (p.spec?.nodeName === NODE && workers.length === 0) return true;
          // What it looked like, for the timeout's message.
          const node = await fx.core.readNode({ name: NODE });
          throw new Error(
            `squatter on ${p.spec?.nodeName ?? "no node"} (${JSON.stringify(p.status?.conditions ?? [])}); a100 pods: ${
              workers.map((w) => `${w.metadata?.name} ${w.status?.phase}${w.metadata?.deletionTimestamp ? " terminating" : ""}`).join(", ") || "none"
            }; node taints ${JSON.stringify(node.spec?.taints ?? [])}, allocatable ${JSON.stringify(node.status?.allocatable ?? {})}`,
          );
        });
        await expectRefused(
          () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
          new RegExp(
            `pool a100: 1 worker \\(0 running \\+ 1 probe\\) needs 1 nvidia\\.com/gpu, nodes labelled ${GROUP_LABEL}=${group} have 0 free \\(1 allocatable, 1 requested by other pods\\)`,
          ),
        );
        // Reported instead of probed, the pool needs no room: the dry run passes the check.
        fx.writeConfig((c) => {
          onOwnNode(c);
          c["sie-fleet:rollout"].zeroReplicaPools = "report";
        });
        const dry = await upgrade({ stack: fx.stack, to: "v0.3.2", dryRun: true }, fx.ctx);
        expect(dry.outcome, JSON.stringify(dry).slice(0, 2000)).toBe("dry-run");
        expect(dry.capacity?.pools.find((p) => p.pool === "a100")).toMatchObject({ ok: true, replicas: 0, surge: 0 });
      } finally {
        await fx.core.deleteNamespacedPod({ name: "gpu-squatter", namespace: fx.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        await scaleA100(1);
        await waitReleaseReady(fx);
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a gateway Service with no Ready endpoint, or a Prometheus Service that does not exist: refused before any change (gate-unreachable)",
    async () => {
      const gateway = `${fx.fullname}-gateway`;
      const svc = await fx.core.readNamespacedService({ name: gateway, namespace: fx.namespace });
      const selector = svc.spec?.selector ?? {};
      // The Service selects no pod: the API server's proxy has no endpoint to send the gates to.
      await fx.core.patchNamespacedService(
        { name: gateway, namespace: fx.namespace, body: { spec: { selector: { ...selector, "sie-fleet.test/nothing": "x" } } } },
        MERGE,
      );
      try {
        await waitFor("the gateway Service's endpoints emptied", async () => {
          const slices = await fx.kubeConfig.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({
            namespace: fx.namespace,
            labelSelector: `kubernetes.io/service-name=${gateway}`,
          });
          return slices.items.every((s) => (s.endpoints ?? []).length === 0) ? true : undefined;
        });
        await expectRefused(() => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx), /the gateway: its Service has no Ready endpoint/, "gate-unreachable");
      } finally {
        await fx.core.replaceNamespacedService({
          name: gateway,
          namespace: fx.namespace,
          body: { ...(await fx.core.readNamespacedService({ name: gateway, namespace: fx.namespace })), spec: { ...svc.spec, selector } },
        });
      }

      // The stack names an in-cluster Prometheus that is not there: the metric gates could never look.
      fx.writeConfig((c) => {
        onOwnNode(c);
        withPrometheusChecks(c);
        delete c["sie-fleet:autoscaling"].prometheusAddress;
        c["sie-fleet:monitoring"] = { prometheus: { service: "monitoring/no-such-prometheus:9090" } };
      });
      try {
        const r = await expectRefused(() => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx), /Prometheus: no such Service/, "gate-unreachable");
        expect(r.reason).toMatch(/services "no-such-prometheus" not found/);
      } finally {
        fx.writeConfig(onOwnNode);
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // Last in the file: it leaves the stack upgraded to v0.3.2.
  it(
    "metric-gates with no Prometheus at all is refused (exit 4) naming the check and the fix; skipped with --skip-check the upgrade applies and ends succeeded-unverified (exit 7), journaled and in history",
    async () => {
      // The local stack's checks, Prometheus's included, and no Prometheus anywhere (the fixture's env has none).
      fx.writeConfig((c) => {
        onOwnNode(c);
        withPrometheusChecks(c);
      });
      const refused = await expectRefused(
        () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
        /metric-gates.*no Prometheus is configured/,
        "gate-unreachable",
      );
      expect(exitCodeForResult(refused)).toBe(EXIT_CODES.refused);
      expect(refused.hint).toMatch(/monitoring\.prometheus\.service .*rollout\.gates\.prometheusUrl/);
      expect(refused.hint).toMatch(/rollout\.gates\.skip: \[prometheus, metric-gates\] or --skip-check prometheus --skip-check metric-gates/);

      const env = { ...fx.ctx.env, CI: "1" };
      const before = await workloadImages(fx);
      const cli = await runCliInProcess(
        ["upgrade", "--stack", fx.stack, "--to", "v0.3.2", "--skip-check", "metric-gates", "--skip-check", "prometheus", "--yes", "--json"],
        { cwd: fx.dir, env },
      );
      const lines = cli.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { kind: string; result?: unknown });
      const r = lines.find((l) => l.kind === "result")?.result as UpgradeResult;
      expect(cli.code, `${cli.stderr}\n${JSON.stringify(r).slice(0, 3000)}`).toBe(EXIT_CODES.unverified);
      expect(r.outcome).toBe("succeeded-unverified");
      const skipped = [
        { name: "metric-gates", source: "flag" },
        { name: "prometheus", source: "flag" },
      ];
      expect(r.skippedChecks).toEqual(skipped);
      expect(r).not.toHaveProperty("unverifiedPools");
      expect(await workloadImages(fx)).not.toEqual(before);
      // Left out, not run: no Prometheus gate and no "skipped" warning in any wave or the final verification.
      const gates = [...r.waves.flatMap((w) => w.gates), ...r.gates];
      expect(gates.length).toBeGreaterThan(0);
      expect(gates.filter((g) => /^(prometheus|metric)/.test(g.name) || g.message.startsWith("skipped:"))).toEqual([]);

      const journal = await readJournal(fx.stateDir, fx.stack, r.runId);
      const entry = journal.entries.find((e) => e.action === JOURNAL_ACTIONS.checksSkipped);
      expect(entry).toMatchObject({ kind: "decision", data: skipped });
      expect(entry!.seq).toBeLessThan(journal.entries.find((e) => e.action === JOURNAL_ACTIONS.configSnapshot)!.seq);
      expect(journal.entries.at(-1)).toMatchObject({ kind: "outcome", outcome: "succeeded-unverified", data: { skippedChecks: skipped } });
      expect(journal.entries.at(-1)?.message).toMatch(/checks left out: metric-gates, prometheus \(--skip-check\)/);

      const history = await runCliInProcess(["history", "--stack", fx.stack, "--json"], { cwd: fx.dir, env });
      expect(history.code, history.stderr).toBe(EXIT_CODES.ok);
      const entries = (JSON.parse(history.stdout.trim().split("\n").at(-1)!) as { result: HistoryEntry[] }).result;
      expect(entries.find((e) => e.runId === r.runId)).toMatchObject({ outcome: "succeeded-unverified", imageTag: "v0.3.2", skippedChecks: skipped });
      const text = await runCliInProcess(["history", "--stack", fx.stack], { cwd: fx.dir, env });
      expect(text.stdout).toMatch(/succeeded-unverified \(left out: metric-gates, prometheus \(--skip-check\)\)/);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
