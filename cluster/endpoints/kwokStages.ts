/**
 * The kwok Stage configuration of the test control plane, generated so that what a pod fault does
 * to a pod's status is written next to the fault table (cluster/faults.ts) and nowhere else.
 *
 * kwok plays the kubelet on fake nodes: these stages decide what each pod's status becomes. A
 * container becomes Running and Ready unless the pod carries a pod fault: the annotation
 * FAULT_ANNOTATION (set by the fault-scope webhook when the pod is created, or by hand), else its
 * image tag's suffix, optionally followed by the chart's worker `-<platform>-<bundle>`. Request
 * faults (-5xx, -slow, -errors10) leave the pod Ready; the endpoint server applies them. A
 * container's imageID is sha256(image), salted by DIGEST_SALT_ANNOTATION when its tag was moved.
 * A pod with START_SECONDS_ANNOTATION (and no pod fault) first runs unstarted and unready that
 * long, under its startup probe's budget (startupStages below). A pod with PULL_SECONDS_ANNOTATION
 * is not started at all: its node is pulling its image, and the endpoint server removes the
 * annotation when the pull is done (imagePulls.ts).
 *
 * kwok applies each statusTemplate as a strategic merge patch of .status; containerStatuses has
 * no merge key, so every template writes the whole list. When several stages match an object kwok
 * picks one at random, so the selectors below are mutually exclusive.
 */
import { FAULT_ANNOTATION, FAULTS, POD_FAULTS, WORKER_TAG_TAIL, type PodFault } from "../faults.js";
import { DIGEST_SALT_ANNOTATION } from "./digestMoves.js";
import { PULL_SECONDS_ANNOTATION } from "./pullTimes.js";
import { START_SECONDS_ANNOTATION } from "./startDelays.js";

/** A container killed at its startup probe's budget exits with this (startupStages). */
const STARTUP_KILL_EXIT_CODE = 137;
// kwok compares selector values as strings, bools and ints only: a JSON number (float64) never matches unless made a string.
const LAST_EXIT_CODE = ".status.containerStatuses.[].lastState.terminated.exitCode | tostring";

/** A pod fault as kwok executes it. `container` is the body of one containerStatuses item. */
interface PodFaultStatus {
  phase: "Pending" | "Running";
  container: string;
  /** Stages that move the container on from the state `container` put it in. */
  followUps: string[];
}

/**
 * The digest a container's image resolves to: sha256 of the image reference, plus the pod's
 * digest salt when its tag was moved (digestMoves.ts). Needs `$salt`, set by SALT_OF_POD.
 */
const IMAGE_ID = `{{ printf "sha256:%s" (sha256sum (printf "%s%s" .image $salt)) | Quote }}`;
const SALT_OF_POD = `{{ $salt := "" }}
{{ with .metadata.annotations }}{{ with index . ${JSON.stringify(DIGEST_SALT_ANNOTATION)} }}{{ $salt = toString . }}{{ end }}{{ end }}`;

/** `started` false: the startup probe has not passed yet (a start delay is playing). */
const running = (ready: string, started = "true"): string => `imageID: ${IMAGE_ID}
containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/0" $pod.metadata.uid .name)) | Quote }}
ready: ${ready}
started: ${started}
restartCount: 0
state: { running: { startedAt: {{ $now | Quote }} } }`;

const pulling = (reason: "ErrImagePull" | "ImagePullBackOff"): string => `imageID: ""
ready: false
started: false
restartCount: 0
state: { waiting: { reason: ${reason}, message: {{ printf ${reason === "ErrImagePull" ? `"failed to pull and unpack image %q: not found"` : `"Back-off pulling image %q"`} .image | Quote }} } }`;

/** `restarts` is a template expression: 1 when the pod starts, one more at each restart. */
const crashed = (imageID: string, restarts: string): string => `imageID: ${imageID}
containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/%v" $pod.metadata.uid .name (${restarts}))) | Quote }}
ready: false
started: false
restartCount: {{ ${restarts} }}
lastState: { terminated: { exitCode: 1, reason: Error, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }
state: { waiting: { reason: CrashLoopBackOff, message: {{ printf "back-off 10s restarting failed container=%s pod=%s" .name $pod.metadata.name | Quote }} } }`;

/**
 * One Pod stage. `expressions` are its selector's `[key, operator, values?]` (all must hold);
 * `delay` and `next` are the YAML under those keys.
 */
function podStage(name: string, expressions: [string, string, string?][], delay: string, next: string): string {
  const selector = expressions
    .map(([key, op, values]) => `- key: ${JSON.stringify(key)}\n  operator: ${op}${values ? `\n  values: [${JSON.stringify(values)}]` : ""}`)
    .join("\n");
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
${indent(selector, 6)}
  delay:
${indent(delay, 4)}
  next:
${indent(next, 4)}
`;
}

const statusTemplate = (template: string): string => `statusTemplate: |\n${indent(template, 2)}`;
const NOT_DELETED: [string, string] = [".metadata.deletionTimestamp", "DoesNotExist"];

/**
 * Rewrites the containers waiting with `reason` after `delayMs`, keeping the others as they are.
 * `also` narrows the selector when another stage waits on the same reason.
 */
function waitingStage(name: string, reason: string, delayMs: number, container: string, also: [string, string, string?][] = []): string {
  const template = `{{ $now := Now }}
{{ $pod := . }}
containerStatuses:
{{ range .status.containerStatuses }}
{{ if and .state.waiting (eq (toString .state.waiting.reason) ${JSON.stringify(reason)}) }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
${indent(container, 2)}
{{ else }}
- {{ toJson . }}
{{ end }}
{{ end }}`;
  return podStage(
    name,
    [NOT_DELETED, [".status.containerStatuses.[].state.waiting.reason", "In", reason], ...also],
    `durationMilliseconds: ${delayMs}`,
    statusTemplate(template),
  );
}

export const POD_FAULT_STATUS = {
  crashloop: {
    phase: "Running",
    container: crashed(IMAGE_ID, "1"),
    // Restarts (and crashes) again every 10 s.
    followUps: [
      waitingStage("sie-pod-crashloop-restart", "CrashLoopBackOff", 10_000, crashed("{{ .imageID | Quote }}", "add1 .restartCount"), [
        [LAST_EXIT_CODE, "NotIn", String(STARTUP_KILL_EXIT_CODE)],
      ]),
    ],
  },
  pullerr: {
    phase: "Pending",
    container: pulling("ErrImagePull"),
    // The kubelet's back-off: ErrImagePull turns into ImagePullBackOff, and the next attempt fails again.
    followUps: [
      waitingStage("sie-pod-pullerr-backoff", "ErrImagePull", 2_000, pulling("ImagePullBackOff")),
      waitingStage("sie-pod-pullerr-retry", "ImagePullBackOff", 10_000, pulling("ErrImagePull")),
    ],
  },
  noready: {
    phase: "Running",
    container: running("false"),
    followUps: [],
  },
} as const satisfies Record<PodFault, PodFaultStatus>;

function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .map((l) => (l ? pad + l : l))
    .join("\n");
}

/** Template condition: the image (`.image`) of the container in `.` has fault `f`'s tag suffix, the worker's `-<platform>-<bundle>` allowed after it. */
function imageTagHas(f: PodFault): string {
  return `regexMatch ${JSON.stringify(`:[^:/@]*${FAULTS[f].suffix}(${WORKER_TAG_TAIL})?$`)} .image`;
}

/**
 * Sets `$fault` for the container in `.` (inside a range over .spec.containers): the pod's
 * annotation wins, else the image tag's pod fault. Request faults in the annotation leave it set
 * to a name no branch below matches, so the container runs Ready.
 */
function faultOfContainer(): string {
  const byTag = POD_FAULTS.map((f, i) => `{{ ${i === 0 ? "if" : "else if"} ${imageTagHas(f)} }}{{ $fault = ${JSON.stringify(f)} }}`).join("");
  return `{{ $fault := $injected }}
{{ if not $fault }}${byTag}{{ end }}{{ end }}`;
}

/**
 * An init container whose image tag carries the pull fault fails its pull as a worker's would: the
 * pod stays Pending and uninitialized (kubectl: Init:ErrImagePull), its containers waiting on it.
 * This is how an image that does not exist shows first in the chart's image pre-pull DaemonSet,
 * whose init container pulls the worker image. Only the tag decides (scopes and annotations
 * describe the pod's own containers), and the kubelet's back-off is not played for it.
 */
const INIT_PULL_FAILS = imageTagHas("pullerr");
const INITIALIZING = `imageID: ""
ready: false
started: false
restartCount: 0
state: { waiting: { reason: PodInitializing } }`;

/** Set while the pod's node pulls its image; once removed (kwok: no value) `DoesNotExist` matches. */
const PULL_SECONDS = `.metadata.annotations[${JSON.stringify(PULL_SECONDS_ANNOTATION)}]`;

function podStartStage(): string {
  const notReady = POD_FAULTS.map((f) => JSON.stringify(f)).join(" ");
  const pending = POD_FAULTS.filter((f) => POD_FAULT_STATUS[f].phase === "Pending")
    .map((f) => JSON.stringify(f))
    .join(" ");
  const branches = POD_FAULTS.map(
    (f, i) => `{{ ${i === 0 ? "if" : "else if"} eq $fault ${JSON.stringify(f)} }}\n${indent(POD_FAULT_STATUS[f].container, 2)}`,
  ).join("\n");
  const template = `{{ $now := Now }}
{{ $pod := . }}
{{ $injected := "" }}
{{ with .metadata.annotations }}{{ with index . ${JSON.stringify(FAULT_ANNOTATION)} }}{{ $injected = toString . }}{{ end }}{{ end }}
{{ $delayed := false }}
{{ with .metadata.annotations }}{{ with index . ${JSON.stringify(START_SECONDS_ANNOTATION)} }}{{ $delayed = true }}{{ end }}{{ end }}
${SALT_OF_POD}
{{ $pending := false }}
{{ $ready := not $delayed }}
{{ $initPull := false }}
{{ range .spec.initContainers }}{{ if ${INIT_PULL_FAILS} }}{{ $initPull = true }}{{ end }}{{ end }}
{{ if $initPull }}{{ $pending = true }}{{ $ready = false }}{{ end }}
{{ range .spec.containers }}
${faultOfContainer()}
{{ if has $fault (list ${pending || '""'}) }}{{ $pending = true }}{{ end }}
{{ if has $fault (list ${notReady}) }}{{ $ready = false }}{{ end }}
{{ end }}
phase: {{ if $pending }}Pending{{ else }}Running{{ end }}
startTime: {{ $now | Quote }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName (or .spec.hostNetwork false) (or .metadata.uid "") (or .metadata.name "") (or .metadata.namespace "") | Quote }}
conditions:
- { type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ if $initPull }}
- { type: Initialized, status: "False", reason: ContainersNotInitialized, lastTransitionTime: {{ $now | Quote }} }
{{ else }}
- { type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ end }}
{{ if $ready }}
- { type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }} }
- { type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ else }}
- { type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }} }
- { type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }} }
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  {{ if ${INIT_PULL_FAILS} }}
${indent(pulling("ErrImagePull"), 2)}
  {{ else if eq (toString .restartPolicy) "Always" }}
  restartCount: 0
  ready: true
  started: true
  state: { running: { startedAt: {{ $now | Quote }} } }
  {{ else }}
  restartCount: 0
  ready: true
  state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }
  {{ end }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
${faultOfContainer()}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
{{ if $initPull }}
${indent(INITIALIZING, 2)}
{{ else }}${branches}
{{ else if $delayed }}
${indent(running("false", "false"), 2)}
{{ else }}
${indent(running("true"), 2)}
{{ end }}
{{ end }}
{{ end }}`;
  // A pod bound to a node, not started yet and not waiting for an image pull: every container gets
  // its state from the pod's fault.
  return podStage(
    "sie-pod-start",
    [NOT_DELETED, [".spec.nodeName", "Exists"], [".status.containerStatuses", "DoesNotExist"], [PULL_SECONDS, "DoesNotExist"]],
    // Roughly an image pull and container start, so watchers see Pending before Running.
    "durationMilliseconds: 300\njitterDurationMilliseconds: 600",
    `event:\n  type: Normal\n  reason: Started\n  message: containers started by kwok\n${statusTemplate(template)}`,
  );
}

// Mark a new node Ready once, keeping the capacity it was registered with. kwok's lease
// controller renews the node's Lease afterwards, which is the heartbeat the node lifecycle
// controller watches. Its kubelet port is kwok's own server (the API server's logs and
// port-forward go there), when kwok serves one.
const nodeReady = (kubeletPort: number | undefined): string => `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sie-node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
      - key: '.status.conditions.[] | select(.type == "Ready") | .status'
        operator: NotIn
        values: ["True"]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - type: Ready
        status: "True"
        reason: KubeletReady
        message: kubelet is posting ready status (kwok)
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
      {{ range list "MemoryPressure" "DiskPressure" "PIDPressure" }}
      - type: {{ . }}
        status: "False"
        reason: {{ printf "KubeletHasNo%s" . | Quote }}
        message: ""
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      addresses:
      - type: InternalIP
        address: {{ NodeIP | Quote }}
      - type: Hostname
        address: {{ .metadata.name | Quote }}${kubeletPort ? `\n      daemonEndpoints: { kubeletEndpoint: { Port: ${kubeletPort} } }` : ""}
      capacity: {{ with .status.capacity }}{{ toJson . }}{{ else }}{"cpu": "32", "memory": "128Gi", "pods": "110"}{{ end }}
      allocatable: {{ with .status.allocatable }}{{ toJson . }}{{ else }}{"cpu": "32", "memory": "128Gi", "pods": "110"}{{ end }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        osImage: kwok
        kernelVersion: {{ printf "kwok-%s" Version | Quote }}
        containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
        kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
        kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
        machineID: ""
        systemUUID: ""
        bootID: ""
      phase: Running
`;

/**
 * A node that is Ready already (a cluster restarted on its directory) but advertises another
 * kubelet port than kwok's server has now: only its daemonEndpoints change. Exclusive with
 * nodeReady (that one wants a node that is not Ready). `tostring` makes a missing port "null".
 */
const nodeKubeletPort = (kubeletPort: number): string => `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sie-node-kubelet-port
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
      - key: '.status.conditions.[] | select(.type == "Ready") | .status'
        operator: In
        values: ["True"]
      - key: '.status.daemonEndpoints.kubeletEndpoint.Port | tostring'
        operator: NotIn
        values: ["${kubeletPort}"]
  next:
    statusTemplate: |
      daemonEndpoints: { kubeletEndpoint: { Port: ${kubeletPort} } }
`;

/**
 * A start delay, as the kubelet runs it: the container is running but unstarted (its startup probe
 * failing) for the pod's START_SECONDS_ANNOTATION, then starts and turns Ready, readiness following
 * at once. If the delay is longer than the startup probe's budget (initialDelaySeconds +
 * failureThreshold × periodSeconds, the smallest over the pod's containers), the kubelet kills the
 * container at the budget instead (exit code STARTUP_KILL_EXIT_CODE, CrashLoopBackOff) and starts
 * it again after the back-off, for ever. The budget is computed twice, in jq for the delay and in
 * the template for the outcome, from the same spec fields.
 */
const START_SECONDS = `.metadata.annotations[${JSON.stringify(START_SECONDS_ANNOTATION)}]`;
const STARTUP_DELAY_JQ = `(${START_SECONDS} | tonumber) as $d
| ([.spec.containers[] | .startupProbe // empty | (.initialDelaySeconds // 0) + (.failureThreshold // 3) * (.periodSeconds // 10)] | min) as $b
| (if $b == null or $d <= $b then $d else $b end) | tostring + "s"`;
const STARTUP_OUTCOME = `{{ $d := atoi (toString (index .metadata.annotations ${JSON.stringify(START_SECONDS_ANNOTATION)})) }}
{{ $budget := -1 }}
{{ range .spec.containers }}{{ with .startupProbe }}{{ $b := add (or .initialDelaySeconds 0) (mul (or .failureThreshold 3) (or .periodSeconds 10)) }}{{ if or (lt $budget 0) (lt $b $budget) }}{{ $budget = $b }}{{ end }}{{ end }}{{ end }}
{{ $killed := and (ge $budget 0) (gt $d $budget) }}`;

function startupStages(): string[] {
  const unstarted: [string, string, string?][] = [
    NOT_DELETED,
    [START_SECONDS, "Exists"],
    [".status.containerStatuses.[].state.running", "Exists"],
    [".status.containerStatuses.[].started", "In", "false"],
  ];
  const outcome = `{{ $now := Now }}
{{ $pod := . }}
${STARTUP_OUTCOME}
{{ if not $killed }}
conditions:
- { type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }} }
- { type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ end }}
containerStatuses:
{{ range .status.containerStatuses }}
{{ if and .state.running (not .started) }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ .imageID | Quote }}
  {{ if $killed }}
  containerID: ""
  ready: false
  started: false
  restartCount: {{ add1 .restartCount }}
  lastState: { terminated: { exitCode: ${STARTUP_KILL_EXIT_CODE}, reason: Error, message: "startup probe failed", startedAt: {{ .state.running.startedAt | Quote }}, finishedAt: {{ $now | Quote }}, containerID: {{ .containerID | Quote }} } }
  state: { waiting: { reason: CrashLoopBackOff, message: {{ printf "back-off 10s restarting failed container=%s pod=%s" .name $pod.metadata.name | Quote }} } }
  {{ else }}
  containerID: {{ .containerID | Quote }}
  ready: true
  started: true
  restartCount: {{ .restartCount }}
  state: { running: { startedAt: {{ .state.running.startedAt | Quote }} } }
  {{ end }}
{{ else }}
- {{ toJson . }}
{{ end }}
{{ end }}`;
  const restarted = `imageID: {{ .imageID | Quote }}
containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/%v" $pod.metadata.uid .name .restartCount)) | Quote }}
ready: false
started: false
restartCount: {{ .restartCount }}
lastState: {{ toJson .lastState }}
state: { running: { startedAt: {{ $now | Quote }} } }`;
  return [
    podStage(
      "sie-pod-startup",
      unstarted,
      `durationFrom:
  jq:
    expression: ${JSON.stringify(STARTUP_DELAY_JQ)}`,
      `event:
  type: Normal
  reason: Started
  message: startup probe passed or the container was killed at its budget (kwok)
${statusTemplate(outcome)}`,
    ),
    waitingStage("sie-pod-startup-restart", "CrashLoopBackOff", 10_000, restarted, [
      [START_SECONDS, "Exists"],
      [LAST_EXIT_CODE, "In", String(STARTUP_KILL_EXIT_CODE)],
    ]),
  ];
}

// A deleted pod goes away once the (fake) kubelet has stopped it, so controllers can replace it.
const POD_DELETE = podStage("sie-pod-delete", [[".metadata.deletionTimestamp", "Exists"]], "durationMilliseconds: 200", "delete: true");

/**
 * The whole kwok `--config` file: node stages, then pod start, the pod faults' follow-ups, delete.
 * With `kubeletPort`, nodes advertise it as their kubelet's (kwok's server, see controlPlane.ts).
 */
export function kwokStages(kubeletPort?: number): string {
  const nodes = [nodeReady(kubeletPort), ...(kubeletPort ? [nodeKubeletPort(kubeletPort)] : [])];
  const docs = [...nodes, podStartStage(), ...POD_FAULTS.flatMap((f) => POD_FAULT_STATUS[f].followUps), ...startupStages(), POD_DELETE];
  return `# kwok Stage configuration for the sie-fleet test control plane, generated by
# cluster/endpoints/kwokStages.ts from the fault table in cluster/faults.ts. Do not edit.\n${docs.join("---\n")}`;
}
