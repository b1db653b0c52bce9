/**
 * Every command and flag of `sie-fleet`, with help that teaches (examples under each command).
 * Command bodies live in commands/<verb>.ts and are imported only when that command runs, so
 * `--help` and flag errors stay fast and never load Pulumi or the Kubernetes client.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { REPO_ROOT } from "../../core/paths.js";
import { VERIFY_CHECKS } from "../../infra/config/configSchema.js";
import { STACK_ENV, STATE_DIR_ENV, DEFAULT_STATE_DIR } from "../../core/defaults.js";
import {
  collectArg,
  collectCheckArg,
  parseChartVersionArg,
  parseStackListArg,
  parsePositiveIntArg,
  parseRollbackTarget,
  parseStackArg,
  parseTagArg,
} from "./args.js";
import { makeCommandContext, resolveGlobals, type CliIO, type CommandContext } from "./context.js";

/** Filled in while a command runs; read by run.ts. */
export interface RunState {
  exitCode: number;
  ctx?: CommandContext;
  command?: string;
}

type CommandModule<O> = { run(opts: O, ctx: CommandContext): Promise<number> };

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

const EXIT_CODES_HELP = `
Exit codes:
  0    ok (upgrade succeeded, dry-run done, query answered)
  1    internal error (a bug; run with --verbose)
  2    bad flags, arguments or config; nothing changed
  3    stack not found or locked by another run, cluster unreachable, or an RBAC permission missing; nothing changed
  4    refused by version or promotion policy, preflight (capacity, health, KEDA, a check that cannot look) or preview guardrail; nothing applied
  5    upgrade failed a gate and was reverted to the previous version
  6    needs attention: a revert or recovery failed, or the run lost its lock; look before running anything else
  7    applied, every check it ran passed, but not verified: checks were left out (rollout.gates.skip,
       --skip-check, --force), or pools running 0 workers were left at zero (rollout.zeroReplicaPools: report)
  130  interrupted; run \`sie-fleet recover\`
See docs/exit-codes.md and docs/json-output.md.`;

const SKIP_CHECK_HELP = `leave this verification check out of this run (repeatable; one of ${VERIFY_CHECKS.join(", ")}); the run then ends succeeded-unverified (exit 7), never succeeded`;

const SKIP_CHECK_NOTE = `
Checks: the stack's rollout.gates.checks (wave/final; defaults in automation/verify/checks.ts), minus
rollout.gates.skip and --skip-check. A check with nothing to look at (prometheus or metric-gates
without any Prometheus configured) refuses the run (exit 4, gate-unreachable) until you configure
it (monitoring.prometheus, rollout.gates.prometheusUrl) or skip it explicitly. Every skip is
journaled and shown by \`sie-fleet history\`.`;

export function buildProgram(io: CliIO, state: RunState): Command {
  const program = new Command("sie-fleet")
    .description(
      "Run and upgrade SIE GPU inference clusters without fear: bump the image tag, preview with guardrails, " +
        "apply in health-gated waves (canary pool → pools → gateway → config), verify, and revert on failure.",
    )
    .version(VERSION, "-V, --version", "print the sie-fleet version")
    // Env fallbacks are resolved in resolveGlobals from the injected env, not by commander
    // (which reads process.env), so in-process runs and tests see the same rules.
    .addOption(new Option("-s, --stack <name>", `stack to act on, e.g. dev (env: ${STACK_ENV})`).argParser(parseStackArg))
    .option("--json", "machine-readable output: one JSON object per line (schema: docs/json-output.md)")
    .option("-y, --yes", "proceed without asking for confirmation")
    .option("--non-interactive", "never prompt (implied when stdin is not a terminal or CI is set)")
    .option("--state-dir <dir>", `where run journals and locks are kept (default: ${DEFAULT_STATE_DIR}, env: ${STATE_DIR_ENV})`)
    .option("-v, --verbose", "show debug events and error causes")
    // Errors are thrown (not exited) and printed by run.ts in our format; help goes to our streams.
    .exitOverride()
    .configureOutput({
      writeOut: (str) => void io.stdout.write(str),
      writeErr: (str) => void io.stderr.write(str),
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      `
Examples:
  $ sie-fleet cluster start                          # start the embedded Kubernetes cluster
  $ sie-fleet up --stack local --yes                 # deploy the local stack onto it
  $ sie-fleet status --stack dev                     # what runs where, and is it healthy
  $ sie-fleet preview --stack dev --to v0.3.2        # what an upgrade would change
  $ sie-fleet upgrade --stack dev --to v0.3.2 --yes  # upgrade in waves, revert on failure
  $ sie-fleet rollback --stack dev --to previous --yes
${EXIT_CODES_HELP}`,
    );

  const cmd =
    <O>(name: string, load: () => Promise<CommandModule<O>>) =>
    async (opts: O, command: Command): Promise<void> => {
      const globals = resolveGlobals(command.optsWithGlobals(), io);
      const ctx = makeCommandContext(io, globals);
      state.ctx = ctx;
      state.command = name;
      const mod = await load();
      state.exitCode = await mod.run(opts, ctx);
    };

  /** A top-level verb with its summary and --help examples; flags are chained on the result. */
  const verb = <O>(name: string, summary: string, examples: readonly string[], load: () => Promise<CommandModule<O>>, note?: string): Command =>
    program
      .command(name)
      .summary(summary)
      .addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}${note ? `\n\n${note}` : ""}`)
      .action(cmd(name, load));

  program
    .command("upgrade")
    .summary("upgrade the stack's SIE release to a new image tag, in health-gated waves")
    .description(
      "Upgrade the stack's SIE release to a new image tag.\n\n" +
        "Phases (journaled in <state-dir>/journal/<stack>/): lock + preflight (tag format, version policy, " +
        "cluster reachable and healthy) → snapshot config → freeze KEDA → set tag → preview + guardrails → " +
        "hold workloads and apply the release once → release waves: canary pool → remaining pools → gateway " +
        "→ config, each gated on rollout health (a pool's wave first waits for the chart's image pre-pull of " +
        "its pool, so its workers start from a cached image) → verify → thaw KEDA. On a failed gate the stack is reverted " +
        "to the exact previous config and verified (exit 5).",
    )
    .requiredOption("--to <tag>", "image tag to upgrade to, e.g. v0.3.2", parseTagArg)
    .option("--chart-version <version>", "also move the sie-cluster chart to this version, e.g. 0.3.2", parseChartVersionArg)
    .option(
      "--stacks <list>",
      "instead of --stack: upgrade these stacks one after the other (e.g. staging,prod), waiting out each promotion's soak, stopping at the first refusal or revert; re-running a killed fleet run resumes it",
      parseStackListArg,
    )
    .option("--dry-run", "preview and check policy and guardrails only; change nothing")
    .option(
      "--force",
      "override version-policy, promotion-policy, capacity and KEDA refusals and digest mismatches (minor skips, forward-only versions, major changes, pools short of room, ScaledObjects in Fallback; warned and journaled); go on without checks that have nothing to look at (recorded as skipped: exit 7)",
    )
    .option("--skip-check <name>", SKIP_CHECK_HELP, collectCheckArg)
    .addHelpText(
      "after",
      `
Examples:
  $ sie-fleet upgrade --stack dev --to v0.3.2 --dry-run   # look first
  $ sie-fleet upgrade --stack dev --to v0.3.2 --yes       # then do it
  $ sie-fleet upgrade --stack dev --to v0.3.2 --json --yes | jq -c 'select(.kind=="wave")'
  $ sie-fleet upgrade --stacks staging,prod --to v0.3.2 --yes   # a fleet, in order
  $ sie-fleet upgrade --stack dev --to v0.3.2 --skip-check metric-gates --skip-check prometheus --yes   # no Prometheus yet: exit 7
${SKIP_CHECK_NOTE}
${EXIT_CODES_HELP}`,
    )
    .action(cmd("upgrade", () => import("./commands/upgrade.js")));

  verb(
    "preview",
    "show what `up` or an upgrade would change, and whether the guardrails allow it",
    ["sie-fleet preview --stack dev", "sie-fleet preview --stack dev --to v0.3.2 --chart-version 0.3.1"],
    () => import("./commands/preview.js"),
  )
    .option("--to <tag>", "preview an upgrade to this image tag instead of the current config", parseTagArg)
    .option(
      "--chart-version <version>",
      "with --to: also preview a chart version change (lists the objects it adds, removes and changes)",
      parseChartVersionArg,
    );

  verb(
    "up",
    "apply the stack's current config (pools, settings) — not for image upgrades",
    ["sie-fleet up --stack dev --yes"],
    () => import("./commands/up.js"),
    "For image tags use `sie-fleet upgrade`, which adds waves, gates and revert.",
  ).option("-m, --message <text>", "message recorded in the stack history");

  program
    .command("rollback")
    .summary("roll the stack back to a previous version (rolls forward to the old config)")
    .requiredOption("--to <target>", "previous | an image tag (v0.3.1) | update:<n> from `history`", parseRollbackTarget)
    .option("--dry-run", "preview and check only; change nothing")
    .option(
      "--force",
      "override version-policy, capacity and KEDA refusals (e.g. going below a forward-only version); go on without checks that have nothing to look at (recorded as skipped: exit 7)",
    )
    .option("--skip-check <name>", SKIP_CHECK_HELP, collectCheckArg)
    .addHelpText(
      "after",
      `\nExamples:\n  $ sie-fleet rollback --stack dev --to previous --yes\n  $ sie-fleet rollback --stack dev --to v0.3.1 --yes\n  $ sie-fleet history --stack dev && sie-fleet rollback --stack dev --to update:12 --yes\n${SKIP_CHECK_NOTE}`,
    )
    .action(cmd("rollback", () => import("./commands/rollback.js")));

  verb(
    "history",
    "list the stack's updates with their image tags and run outcomes",
    ["sie-fleet history --stack dev", "sie-fleet history --stack dev --limit 50 --json"],
    () => import("./commands/history.js"),
  ).option("-n, --limit <count>", "how many updates to show", parsePositiveIntArg, 10);

  verb(
    "status",
    "show what runs in the stack's cluster and whether it is healthy",
    ["sie-fleet status --stack dev", "sie-fleet status --stack dev --watch"],
    () => import("./commands/status.js"),
  )
    .option("-w, --watch", "refresh until Ctrl-C")
    .option("--interval <seconds>", "with --watch: seconds between refreshes", parsePositiveIntArg, 2);

  program
    .command("recover")
    .summary("finish or undo a run that was killed, using its journal")
    .description(
      "Finish or undo the newest unfinished run of the stack (one killed by Ctrl-C twice, a crash or a lost machine), " +
        "using what its journal says happened: thaw KEDA, lift holds, and either keep the new version if it verifies or revert to the snapshot.",
    )
    .addHelpText("after", "\nExamples:\n  $ sie-fleet recover --stack dev --yes\n  $ sie-fleet status --stack dev    # shows whether a run is unfinished")
    .action(cmd("recover", () => import("./commands/recover.js")));

  verb("verify", "run the health gates against what is deployed now", ["sie-fleet verify --stack dev"], () => import("./commands/verify.js"));

  program
    .command("demo")
    .summary("deploy the real chart on the embedded cluster, upgrade it, and watch a crash-looping upgrade be reverted")
    .description(
      "From a fresh clone: builds what is missing (Pulumi CLI, Kubernetes provider and helm, the control plane, KEDA; " +
        "about 30 minutes the first time on 2 cores, then reused), starts an embedded cluster of its own (with Prometheus and KEDA), installs the " +
        "local stack (the real sie-cluster chart through the real Helm release), shows KEDA adding workers as requests queue, upgrades to a good version, then to one " +
        "whose workers crash, which the canary wave catches and reverts. Works in a scratch copy under <state-dir>/demo. " +
        "Before building anything it checks what it cannot build (the chart the local stack installs, Go new enough for the " +
        "tools not built yet, disk space for their builds) and stops with one message naming what is missing and how to fix it (exit 2).",
    )
    .option("--keep", "leave the demo's cluster and stack running afterwards")
    .addHelpText("after", "\nExamples:\n  $ sie-fleet demo\n  $ sie-fleet demo --keep --json")
    .action(cmd("demo", () => import("./commands/demo.js")));

  const cluster = program
    .command("cluster")
    .summary("start, stop or inspect the embedded Kubernetes cluster (a real control plane with fake GPU nodes)")
    .description(
      "A real Kubernetes control plane on this machine, run in the background by a daemon per directory: etcd, " +
        "kube-apiserver, kube-controller-manager and kube-scheduler (built from Go modules by scripts/ensure-kube-tools; " +
        "the first start builds them, which takes tens of minutes), with kwok playing the kubelet of fake GKE GPU nodes " +
        "(6 L4, 4 A100 40 GB, 4 CPU; no A100 80 GB, so such a pool stays Pending), its own Prometheus and KEDA (operator and metrics API server, so ScaledObjects scale workers). " +
        "Pods never run: kwok sets their status from the image tag (-crashloop, -pullerr, -noready fail the way real pods do).\n\n" +
        "Everything lives in one directory (--dir): certificates, etcd data, ports, logs and the admin kubeconfig " +
        "<dir>/kubeconfig. Stopping keeps the data; starting again brings back the same cluster (same API server URL, " +
        "CA and objects), which Pulumi needs to see the same cluster.",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ sie-fleet cluster start\n  $ kubectl --kubeconfig .sie-fleet/cluster/kubeconfig get nodes\n  $ sie-fleet cluster status --json\n  $ sie-fleet cluster stop\n  $ sie-fleet cluster delete --yes",
    );
  const clusterDir = (): Option =>
    new Option("--dir <dir>", "the cluster's directory (default: $SIE_FLEET_CLUSTER_DIR, else <state-dir>/cluster); its kubeconfig is <dir>/kubeconfig");
  cluster
    .command("start")
    .description("start the cluster in the background (building its binaries the first time) and print where it is")
    .addOption(clusterDir())
    .option("--no-endpoints", "run only Kubernetes, not the SIE endpoint server beside it (nor Prometheus and KEDA, which it connects)")
    .option("--no-keda", "run no KEDA: ScaledObjects are stored but nothing scales (by default its operator and metrics API server run, built the first time)")
    .option("--timeout <seconds>", "how long the start may take once the binaries are built", parsePositiveIntArg, 240)
    .option(
      "--nodes-from <stack-file>",
      "instead of the default fake nodes, the nodes a gke or eks stack file's pools would come up with (labels, taints, allocatable as the cloud reports them); for a new --dir",
    )
    .option(
      "--karpenter",
      "with --nodes-from: start only each pool's minNodes and run Karpenter (its kwok provider, built the first time) to add the rest on demand and remove empty ones, with the NodePools the stack's pools get",
    )
    .option("--node-delay <duration>", "with --karpenter: how long a new node takes to join, e.g. 30s or 2m (default 60s)")
    .option("--consolidate-after <duration>", "with --karpenter: how long an empty node stays (default the stack's cluster.karpenter.consolidateAfter, or 10m)")
    .option(
      "--start-delay <target=duration>",
      "how long new SIE pods take to pass their startup probe, as GPU workers loading models do: [<namespace>/]<component>[:<pool>][@<version>]=<90s|2m|off>; past the pod's startup budget it is killed and restarted, never Ready. Repeatable; kept across restarts",
      collectArg,
    )
    .option(
      "--pull-time <target=duration>",
      "how long a node takes to pull a worker image it does not have: [<namespace>/]worker[:<pool>][@<version>]=<90s|2m|off>; a new worker (or image pre-pull) pod on such a node stays Pending that long, later pods on that node start at once. Repeatable; kept across restarts",
      collectArg,
    )
    .addHelpText(
      "after",
      "\nProgress (the build, then each start step) goes to stderr.\n\nExamples:\n  $ sie-fleet cluster start\n  $ sie-fleet cluster start --dir /tmp/c1 --json\n  $ sie-fleet cluster start --dir .sie-fleet/gke-shaped --nodes-from stacks/Pulumi.gke-prod.yaml\n  $ sie-fleet cluster start --dir .sie-fleet/eks-scaled --nodes-from stacks/Pulumi.eks-prod.yaml --karpenter --node-delay 90s\n  $ sie-fleet cluster start --start-delay worker=90s --start-delay gateway=20s\n  $ sie-fleet cluster start --pull-time worker=3m --pull-time worker:a100=6m\n  $ kubectl --kubeconfig /tmp/c1/kubeconfig get pods -A",
    )
    .action(cmd("cluster start", async () => ({ run: (await import("./commands/cluster.js")).start })));
  cluster
    .command("stop")
    .description("stop the cluster; its data stays, so the next start is the same cluster")
    .addOption(clusterDir())
    .action(cmd("cluster stop", async () => ({ run: (await import("./commands/cluster.js")).stop })));
  cluster
    .command("status")
    .description("say whether the cluster runs (running, starting, stopped, or stale: its daemon died), where, and how many nodes are Ready")
    .addOption(clusterDir())
    .action(cmd("cluster status", async () => ({ run: (await import("./commands/cluster.js")).status })));
  cluster
    .command("kubectl")
    .description("run kubectl (built from the cluster's own Kubernetes release the first time) against the cluster; pass its arguments after --")
    .addOption(clusterDir())
    .argument("[args...]", "kubectl's arguments")
    .addHelpText(
      "after",
      "\nThe cluster's kubeconfig is set for you (KUBECONFIG=<dir>/kubeconfig); output and exit code are kubectl's.\n\nExamples:\n" +
        "  $ sie-fleet cluster kubectl -- get pods -n sie\n" +
        "  $ sie-fleet cluster kubectl -- rollout status deployment/sie-sie-cluster-gateway -n sie --timeout=120s\n" +
        "  $ sie-fleet cluster kubectl -- get --raw /api/v1/namespaces/sie/services/sie-sie-cluster-gateway:http/proxy/readyz",
    )
    .action((args: string[], opts: { dir?: string }, command: Command) =>
      cmd("cluster kubectl", async () => ({ run: (await import("./commands/cluster.js")).kubectl }))({ ...opts, args }, command),
    );
  cluster
    .command("delete")
    .description("stop the cluster and delete its directory with all its data")
    .addOption(clusterDir())
    .addHelpText("after", "\nExamples:\n  $ sie-fleet cluster delete --yes\n  $ sie-fleet cluster delete --dir /tmp/c1 --yes")
    .action(cmd("cluster delete", async () => ({ run: (await import("./commands/cluster.js")).remove })));

  program
    .command("support-bundle")
    .summary("collect redacted journals, stack state and cluster state for a support ticket")
    .description(
      "Write one .tar.gz to attach to a support ticket: the stack's run journals, history, status, rendered Helm values, " +
        "stack config (secret values shown as [secret]), the Helm release's status, the release's pods and events, the embedded cluster's logs, lock state and tool versions, " +
        "plus manifest.json listing every file. Secrets (config passphrase, HF token, kubeconfig, and their base64 forms) are redacted. " +
        "Parts that cannot be collected (stack never deployed, cluster down) are left out with a note in manifest.json; changes nothing.",
    )
    .option("-o, --output <file>", "where to write the bundle", "sie-fleet-support.tar.gz")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sie-fleet support-bundle --stack dev\n  $ sie-fleet support-bundle --stack dev --output /tmp/dev-bundle.tar.gz --json\n  $ tar tzf sie-fleet-support.tar.gz   # what is inside\n\nSee docs/support-bundle.md.",
    )
    .action(cmd("support-bundle", () => import("./commands/supportBundle.js")));

  return program;
}
