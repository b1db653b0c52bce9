/**
 * The shared copy of a stack's run journals: one ConfigMap per run in the release namespace, so
 * `recover`, `status` and `history` find a run from any machine that can reach the cluster, also
 * after the machine that started it is gone.
 *
 *   sie-fleet-run-<runid>      labels: stack, run-id, command, phase, outcome ("unfinished" until the end)
 *     data.e-000001 …          one journal entry (JSON) per key; keys sort in seq order
 *     binaryData.<file>        the stack's config file as the run found it (config-snapshot.yaml)
 *                              and as it set it (config-target.yaml)
 *
 * Each entry is one merge patch adding its key, carrying the resourceVersion of this writer's last
 * write: if anyone else wrote the run meanwhile (a `recover` that took the lock over), the API
 * server refuses it and this run stops. ConfigMaps hold at most 1 MiB, so evidence and decisions
 * are shortened here (SHARED_JOURNAL); what `recover` acts on never is.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { FLEET_METADATA, SHARED_JOURNAL } from "../../core/defaults.js";
import { LockLostError, StackError } from "../../core/errors.js";
import type { JournalEntry, SharedJournal } from "./journal.js";
import { isConflict, isNotFound, type KubeApi } from "../kube/api.js";
import { fleetObjectName, labelValue, stackLabels, stackSelector } from "../kube/fleetNames.js";

/** The stack's config file as the run found it (what a revert restores) and as the run set it. */
export const CONFIG_SNAPSHOT_FILE = "config-snapshot.yaml";
export const CONFIG_TARGET_FILE = "config-target.yaml";

const ENTRY_KEY = /^e-\d+$/;
const entryKey = (seq: number) => `e-${String(seq).padStart(6, "0")}`;
const bytes = (s: string) => Buffer.byteLength(s);

export interface ClusterJournalOptions {
  /** Called before every write: throws when this run may no longer write (its lock is gone). */
  guard?: () => void;
  limits?: { maxEntryBytes: number; maxObjectBytes: number };
}

export class ClusterJournal implements SharedJournal {
  /** Per run this object writes: the resourceVersion of its last write and the bytes stored so far. */
  private readonly written = new Map<string, { resourceVersion: string; bytes: number }>();
  private readonly limits: { maxEntryBytes: number; maxObjectBytes: number };

  constructor(
    private readonly api: KubeApi,
    readonly namespace: string,
    readonly stack: string,
    private readonly opts: ClusterJournalOptions = {},
  ) {
    this.limits = opts.limits ?? SHARED_JOURNAL;
  }

  get where(): string {
    return `ConfigMaps in namespace ${this.namespace} labelled ${FLEET_METADATA.stack}=${labelValue(this.stack)}`;
  }

  configMapName(runId: string): string {
    return fleetObjectName("sie-fleet-run", runId.toLowerCase());
  }

  async runs(): Promise<Map<string, JournalEntry[]>> {
    const list = await this.api.listConfigMaps(this.namespace, stackSelector(this.stack));
    const out = new Map<string, JournalEntry[]>();
    for (const cm of list) {
      const runId = this.runIdOf(cm);
      if (runId) out.set(runId, entriesOf(cm));
    }
    return out;
  }

  async read(runId: string): Promise<JournalEntry[] | undefined> {
    const cm = await this.get(runId);
    return cm && this.runIdOf(cm) === runId ? entriesOf(cm) : undefined;
  }

  async append(runId: string, entry: JournalEntry): Promise<void> {
    this.opts.guard?.();
    const state = this.written.get(runId) ?? (await this.track(runId));
    const stored = state?.bytes ?? 0;
    const line = this.fit(entry, stored, runId);
    const key = entryKey(entry.seq);
    const labels = {
      [FLEET_METADATA.phase]: labelValue(entry.phase),
      ...(entry.kind === "start" && entry.command ? { [FLEET_METADATA.command]: labelValue(entry.command) } : {}),
      ...(entry.kind === "outcome" && entry.outcome ? { [FLEET_METADATA.outcome]: labelValue(entry.outcome) } : {}),
    };
    const annotations = { [FLEET_METADATA.updatedAt]: entry.time };
    const written = state
      ? await this.patch(runId, { metadata: { resourceVersion: state.resourceVersion, labels, annotations }, data: { [key]: line } })
      : await this.create(runId, {
          labels: { [FLEET_METADATA.outcome]: "unfinished", ...labels },
          annotations: { [FLEET_METADATA.startedAt]: entry.time, ...annotations },
          data: { [key]: line },
        });
    this.written.set(runId, { resourceVersion: written.metadata?.resourceVersion ?? "", bytes: stored + bytes(key) + bytes(line) });
  }

  async attach(runId: string, name: string, content: Buffer): Promise<void> {
    this.opts.guard?.();
    const state = this.written.get(runId) ?? (await this.track(runId));
    const base64 = content.toString("base64");
    const stored = (state?.bytes ?? 0) + bytes(name) + content.length;
    if (stored > this.limits.maxObjectBytes) throw this.full(runId, `${name} (${content.length} bytes)`);
    const written = state
      ? await this.patch(runId, { metadata: { resourceVersion: state.resourceVersion }, binaryData: { [name]: base64 } })
      : await this.create(runId, { labels: { [FLEET_METADATA.outcome]: "unfinished" }, annotations: {}, binaryData: { [name]: base64 } });
    this.written.set(runId, { resourceVersion: written.metadata?.resourceVersion ?? "", bytes: stored });
  }

  async attachment(runId: string, name: string): Promise<Buffer | undefined> {
    const b64 = (await this.get(runId))?.binaryData?.[name];
    return b64 === undefined ? undefined : Buffer.from(b64, "base64");
  }

  /** Deletes the oldest finished runs beyond `keep`. Unfinished runs are never deleted. */
  async prune(keep: number): Promise<string[]> {
    const list = await this.api.listConfigMaps(this.namespace, `${stackSelector(this.stack)},${FLEET_METADATA.outcome}!=unfinished`);
    const finished = list.filter((cm) => this.runIdOf(cm) !== undefined).sort((a, b) => (this.runIdOf(a) ?? "").localeCompare(this.runIdOf(b) ?? ""));
    const old = finished.slice(0, Math.max(0, finished.length - keep));
    for (const cm of old)
      await this.api.deleteConfigMap(this.namespace, cm.metadata?.name ?? "").catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    return old.map((cm) => this.runIdOf(cm) ?? "");
  }

  private runIdOf(cm: V1ConfigMap): string | undefined {
    const a = cm.metadata?.annotations ?? {};
    return a[FLEET_METADATA.stack] === this.stack ? a[FLEET_METADATA.runId] : undefined;
  }

  private async get(runId: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api.getConfigMap(this.namespace, this.configMapName(runId));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Where a run this object has not written yet stands: its resourceVersion and size, or undefined if it has no ConfigMap. */
  private async track(runId: string): Promise<{ resourceVersion: string; bytes: number } | undefined> {
    const cm = await this.get(runId);
    if (!cm) return undefined;
    const size = [...Object.entries(cm.data ?? {}), ...Object.entries(cm.binaryData ?? {})].reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0);
    const state = { resourceVersion: cm.metadata?.resourceVersion ?? "", bytes: size };
    this.written.set(runId, state);
    return state;
  }

  private async create(
    runId: string,
    body: { labels: Record<string, string>; annotations: Record<string, string>; data?: Record<string, string>; binaryData?: Record<string, string> },
  ): Promise<V1ConfigMap> {
    const name = this.configMapName(runId);
    try {
      return await this.api.createConfigMap(this.namespace, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          labels: { ...stackLabels(this.stack), [FLEET_METADATA.runId]: labelValue(runId), ...body.labels },
          annotations: { [FLEET_METADATA.stack]: this.stack, [FLEET_METADATA.runId]: runId, ...body.annotations },
        },
        ...(body.data ? { data: body.data } : {}),
        ...(body.binaryData ? { binaryData: body.binaryData } : {}),
      });
    } catch (err) {
      if (isConflict(err)) throw this.changedElsewhere(runId);
      if (isNotFound(err)) {
        throw new StackError(
          "namespace-missing",
          `cannot write the journal of run ${runId}: the release namespace ${this.namespace} of stack "${this.stack}" does not exist`,
          {
            hint: `sie-fleet status --stack ${this.stack}`,
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  private async patch(runId: string, body: object): Promise<V1ConfigMap> {
    try {
      return await this.api.mergePatchConfigMap(this.namespace, this.configMapName(runId), body);
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) throw this.changedElsewhere(runId);
      throw err;
    }
  }

  private changedElsewhere(runId: string): LockLostError {
    return new LockLostError(
      this.stack,
      `the shared journal of run ${runId} (ConfigMap ${this.namespace}/${this.configMapName(runId)}) was changed by another process since this one last wrote it (a recover that took the lock over?)`,
    );
  }

  private full(runId: string, what: string): StackError {
    return new StackError(
      "journal-full",
      `the shared journal of run ${runId} (ConfigMap ${this.namespace}/${this.configMapName(runId)}) has no room left for ${what} (limit ${this.limits.maxObjectBytes} bytes)`,
      {
        hint: `sie-fleet recover --stack ${this.stack}`,
      },
    );
  }

  /**
   * The entry as the shared copy keeps it. Evidence and decisions over the entry budget keep a
   * summary (gates without their evidence, long strings clipped); near the object limit they keep
   * none. Everything else is kept whole or not at all.
   */
  private fit(entry: JournalEntry, stored: number, runId: string): string {
    const full = JSON.stringify(entry);
    const room = this.limits.maxObjectBytes - stored - bytes(entryKey(entry.seq));
    const shortenable = (entry.kind === "evidence" || entry.kind === "decision") && entry.data !== undefined;
    if (!shortenable || (bytes(full) <= this.limits.maxEntryBytes && bytes(full) <= room)) {
      if (bytes(full) > room) throw this.full(runId, `its ${entry.kind} entry ${entry.seq} (${bytes(full)} bytes)`);
      return full;
    }
    const summary = JSON.stringify({
      ...entry,
      data: summarize(entry.data),
      trimmed: `summarized for the shared copy (${bytes(full)} bytes in full): gate evidence and long text are in the local journal of the machine that ran it`,
    });
    if (bytes(summary) <= this.limits.maxEntryBytes && bytes(summary) <= room) return summary;
    const { data: _data, ...rest } = entry;
    const marker = JSON.stringify({
      ...rest,
      trimmed: `data left out of the shared copy (${bytes(full)} bytes): it is in the local journal of the machine that ran it`,
    });
    if (bytes(marker) > room) throw this.full(runId, `its ${entry.kind} entry ${entry.seq}`);
    return marker;
  }
}

function entriesOf(cm: V1ConfigMap): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const key of Object.keys(cm.data ?? {})
    .filter((k) => ENTRY_KEY.test(k))
    .sort()) {
    try {
      const e = JSON.parse(cm.data?.[key] ?? "") as JournalEntry;
      if (typeof e.seq === "number" && typeof e.kind === "string") out.push(e);
    } catch {
      // Written whole by one API call: an unparsable value was edited by hand; skip it like a corrupt line.
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

const CLIP = 500;

/** Gate results without their evidence and strings clipped: what a person reading the shared copy needs. */
function summarize(data: unknown): unknown {
  if (typeof data === "string") return data.length > CLIP ? `${data.slice(0, CLIP)}…` : data;
  if (Array.isArray(data)) return data.map(summarize);
  if (data === null || typeof data !== "object") return data;
  const isGate = "name" in data && "status" in data && "evidence" in data;
  return Object.fromEntries(
    Object.entries(data)
      .filter(([k]) => !(isGate && k === "evidence"))
      .map(([k, v]) => [k, summarize(v)]),
  );
}
