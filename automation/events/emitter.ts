/**
 * Builds well-formed ProgressEvents (schema version, run id, timestamp) so actions state only
 * what happened. Wraps one Reporter; never writes anywhere itself.
 */
import {
  EVENT_SCHEMA_VERSION,
  type Evidence,
  type GateResult,
  type LogLevel,
  type OutcomeEvent,
  type PhaseStatus,
  type ProgressEvent,
  type Reporter,
  type RolloutEvent,
  type RunPhase,
  type WaveSpec,
  type WaveStatus,
} from "../../core/types.js";

export interface EventExtras {
  wave?: string;
  pool?: string;
  evidence?: Evidence;
}

type Omitted = "v" | "runId" | "time";
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class ProgressEmitter {
  constructor(
    readonly reporter: Reporter,
    readonly runId: string,
    private readonly now: () => number = Date.now,
  ) {}

  emit(event: DistributiveOmit<ProgressEvent, Omitted>): void {
    this.reporter.emit({ v: EVENT_SCHEMA_VERSION, runId: this.runId, time: new Date(this.now()).toISOString(), ...event } as ProgressEvent);
  }

  phase(phase: RunPhase, status: PhaseStatus, message: string, extra: EventExtras & { durationMs?: number } = {}): void {
    this.emit({ kind: "phase", phase, status, message, ...extra });
  }

  wave(wave: WaveSpec, status: Exclude<WaveStatus, "pending">, message: string, extra: Omit<EventExtras, "wave"> = {}): void {
    this.emit({ kind: "wave", phase: "wave", wave: wave.name, waveKind: wave.kind, status, message, ...(wave.pools ? { pools: wave.pools } : {}), ...extra });
  }

  gate(phase: RunPhase, gate: GateResult, extra: EventExtras = {}): void {
    this.emit({ kind: "gate", phase, gate, message: `${gate.name}: ${gate.status}`, ...extra });
  }

  rollout(phase: RunPhase, resource: RolloutEvent["resource"], done: boolean, reason: string, extra: EventExtras = {}): void {
    this.emit({ kind: "rollout", phase, resource, done, reason, message: reason, ...extra });
  }

  log(level: LogLevel, phase: RunPhase, message: string, extra: EventExtras = {}): void {
    this.emit({ kind: "log", level, phase, message, ...extra });
  }

  outcome(outcome: OutcomeEvent["outcome"], exitCode: number, message: string, extra: EventExtras = {}): void {
    this.emit({ kind: "outcome", phase: "done", outcome, exitCode, message, ...extra });
  }
}
