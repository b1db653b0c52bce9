/**
 * `{url}/control/…`: switch the load generator of a namespace, the fault scopes, the moved tags,
 * the start delays and the pull times, and look at what the server sees.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DigestMoveError, parseMove, type DigestMove, type DigestMoveChange } from "./digestMoves.js";
import { FaultScopeError, parseScope, type FaultScope, type ScopeChange } from "./faultScopes.js";
import { readBody, sendJson } from "./http.js";
import type { PullInFlight } from "./imagePulls.js";
import { PodTargetError } from "./podTargets.js";
import { parsePullTime, type PullTime, type PullTimeChange } from "./pullTimes.js";
import { parseStartDelay, type StartDelay, type StartDelayChange } from "./startDelays.js";
import type { LoadGenerator, LoadOptions, LoadStatus } from "./loadgen.js";
import type { NamespaceView } from "./namespaceView.js";

/** Body of `POST {url}/control/load`. */
export interface LoadRequest extends Partial<LoadOptions> {
  namespace: string;
  /** Default "start". */
  action?: "start" | "stop";
}

/** Body of `POST {url}/control/faults`. */
export interface FaultScopesRequest {
  /** Each entry adds or replaces the scope for its target; `fault: null` removes it. */
  scopes?: ScopeChange[];
  /** Remove every scope first. */
  clear?: boolean;
}

/** Body of `POST {url}/control/registry`. */
export interface DigestMovesRequest {
  /** Each entry moves (or, with `salt: null`, puts back) the tags of one version. */
  moves?: DigestMoveChange[];
  /** Remove every move first. */
  clear?: boolean;
}

/** Body of `POST {url}/control/starts`. */
export interface StartDelaysRequest {
  /** Each entry adds or replaces the delay for its target; `seconds: null` removes it. */
  starts?: StartDelayChange[];
  /** Remove every delay first. */
  clear?: boolean;
}

/** Body of `POST {url}/control/pulls`. */
export interface PullTimesRequest {
  /** Each entry adds or replaces the pull time for its target; `seconds: null` removes it. */
  pulls?: PullTimeChange[];
  /** Remove every pull time first. */
  clear?: boolean;
}

export interface ControlDeps {
  namespaces(): string[];
  view(namespace: string): NamespaceView;
  polledAt(): number;
  /** The load generator of a namespace (created on first use when `create`). */
  load(namespace: string, create: boolean): LoadGenerator | undefined;
  loads(): ReadonlyMap<string, LoadGenerator>;
  scopes(): readonly FaultScope[];
  changeScopes(changes: ScopeChange[], clear: boolean): Promise<readonly FaultScope[]>;
  moves(): readonly DigestMove[];
  changeMoves(changes: DigestMoveChange[], clear: boolean): Promise<readonly DigestMove[]>;
  starts(): readonly StartDelay[];
  changeStarts(changes: StartDelayChange[], clear: boolean): Promise<readonly StartDelay[]>;
  pulls(): readonly PullTime[];
  changePulls(changes: PullTimeChange[], clear: boolean): Promise<readonly PullTime[]>;
  /** Image pulls nodes are doing now (imagePulls.ts). */
  pulling(): PullInFlight[];
}

/** A request the control API refuses; the message says what to send instead. */
class BadRequest extends Error {}

const IDLE: LoadStatus = { running: false, sent: 0, byStatus: {} };

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BadRequest("body must be a JSON object");
}

function namespaceOf(v: unknown): string {
  if (typeof v !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v))
    throw new BadRequest(`namespace must be the namespace of a release, got ${JSON.stringify(v)}`);
  return v;
}

function loadOptions(b: Record<string, unknown>): LoadOptions {
  const rps = b["rps"];
  const durationMs = b["durationMs"];
  if (typeof rps !== "number" || !(rps > 0)) throw new BadRequest(`rps must be a number of requests per second (1–500), got ${JSON.stringify(rps)}`);
  if (typeof durationMs !== "number" || !(durationMs > 0))
    throw new BadRequest(`durationMs must be how long to send, in ms (≤ 600000), got ${JSON.stringify(durationMs)}`);
  const models = b["models"];
  if (models !== undefined && (!Array.isArray(models) || !models.every((m) => typeof m === "string")))
    throw new BadRequest("models must be a list of model names");
  const pool = b["pool"];
  if (pool !== undefined && typeof pool !== "string") throw new BadRequest("pool must be a worker pool name");
  return { rps, durationMs, ...(models ? { models: models as string[] } : {}), ...(pool !== undefined ? { pool } : {}) };
}

function state(deps: ControlDeps) {
  const namespaces: Record<string, unknown> = {};
  for (const ns of deps.namespaces()) {
    const v = deps.view(ns);
    const pods = (["gateway", "config", "worker"] as const).flatMap((c) =>
      v.pods(c).map((p) => ({
        component: c,
        name: p.name,
        ...(p.pool ? { pool: p.pool } : {}),
        version: p.image.version,
        ready: p.ready,
        ...(p.fault ? { fault: p.fault } : {}),
      })),
    );
    namespaces[ns] = {
      gatewayEndpoints: v.endpoints("gateway")?.map((p) => p.name) ?? null,
      configEndpoints: v.endpoints("config")?.map((p) => p.name) ?? null,
      pods,
      load: deps.load(ns, false)?.status() ?? IDLE,
    };
  }
  return {
    polledAt: new Date(deps.polledAt()).toISOString(),
    scopes: deps.scopes(),
    moves: deps.moves(),
    starts: deps.starts(),
    pulls: deps.pulls(),
    pulling: deps.pulling(),
    namespaces,
  };
}

/**
 * A POST of changes to one stored list, `{"<key>": [change…], "clear"?: true}`: each change
 * validated by `parse` (which throws naming the field), all stored by `change` at once; answers
 * `{"<key>": <the list as now stored>}`.
 */
async function changeList<C, T>(
  req: IncomingMessage,
  key: string,
  shape: string,
  parse: (raw: unknown) => C,
  change: (changes: C[], clear: boolean) => Promise<readonly T[]>,
): Promise<Record<string, readonly T[]>> {
  const b = parseBody(await readBody(req));
  const raw = b[key] ?? [];
  if (!Array.isArray(raw)) throw new BadRequest(`${key} must be a list of ${shape}`);
  const changes = raw.map((x) => parse(x));
  return { [key]: await change(changes, b["clear"] === true) };
}

export async function handleControl(deps: ControlDeps, req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
  try {
    const route = `${req.method ?? "GET"} ${path}`;
    switch (route) {
      case "GET /state":
        return sendJson(res, 200, state(deps));
      case "GET /load": {
        const ns = url.searchParams.get("namespace");
        if (ns) return sendJson(res, 200, deps.load(namespaceOf(ns), false)?.status() ?? IDLE);
        return sendJson(res, 200, { namespaces: Object.fromEntries([...deps.loads()].map(([n, g]) => [n, g.status()])) });
      }
      case "POST /load": {
        const b = parseBody(await readBody(req));
        const ns = namespaceOf(b["namespace"]);
        const action = b["action"] ?? "start";
        if (action === "stop") return sendJson(res, 200, deps.load(ns, false)?.stop() ?? IDLE);
        if (action !== "start") throw new BadRequest(`action must be "start" or "stop", got ${JSON.stringify(action)}`);
        return sendJson(res, 200, deps.load(ns, true)!.start(loadOptions(b)));
      }
      case "GET /faults":
        return sendJson(res, 200, { scopes: deps.scopes() });
      case "POST /faults":
        return sendJson(res, 200, await changeList(req, "scopes", "{namespace?, component, pool?, version, fault}", parseScope, deps.changeScopes));
      case "GET /registry":
        return sendJson(res, 200, { moves: deps.moves() });
      case "POST /registry":
        return sendJson(res, 200, await changeList(req, "moves", "{namespace?, version, salt}", parseMove, deps.changeMoves));
      case "GET /starts":
        return sendJson(res, 200, { starts: deps.starts() });
      case "POST /starts":
        return sendJson(res, 200, await changeList(req, "starts", "{namespace?, component, pool?, version?, seconds}", parseStartDelay, deps.changeStarts));
      case "GET /pulls":
        return sendJson(res, 200, { pulls: deps.pulls(), pulling: deps.pulling() });
      case "POST /pulls":
        return sendJson(res, 200, await changeList(req, "pulls", "{namespace?, pool?, version?, seconds}", parsePullTime, deps.changePulls));
      default:
        return sendJson(res, 404, { error: `no control route ${route}; see cluster/endpoints/README.md` });
    }
  } catch (err) {
    if (err instanceof BadRequest || err instanceof FaultScopeError || err instanceof DigestMoveError || err instanceof PodTargetError)
      return sendJson(res, 400, { error: err.message });
    throw err;
  }
}
