import type { ModelSpec } from "./models.js";

export interface LoadOptions {
  /** Requests per second (1–500). */
  rps: number;
  /** Stops by itself after this long (≤ 10 min). */
  durationMs: number;
  /** Models to spread requests over; all known models when unset. */
  models?: string[];
  /** Pin requests to one worker pool (sent as `X-SIE-Pool`). */
  pool?: string;
}

export interface LoadStatus {
  running: boolean;
  options?: LoadOptions;
  sent: number;
  byStatus: Record<string, number>;
  startedAt?: string;
  endsAt?: string;
}

const MAX_RPS = 500;
const MAX_DURATION_MS = 10 * 60_000;
const MAX_IN_FLIGHT = 256;

/** A bounded load generator that posts encodes to one gateway URL on loopback. */
export class LoadGenerator {
  private timer?: NodeJS.Timeout;
  private stopTimer?: NodeJS.Timeout;
  private inFlight = 0;
  private state: LoadStatus = { running: false, sent: 0, byStatus: {} };

  constructor(
    private readonly gatewayUrl: () => string,
    private readonly models: readonly ModelSpec[],
  ) {}

  start(o: LoadOptions): LoadStatus {
    this.stop();
    const rps = Math.min(MAX_RPS, Math.max(1, Math.floor(o.rps)));
    const durationMs = Math.min(MAX_DURATION_MS, Math.max(1, Math.floor(o.durationMs)));
    const url = new URL(this.gatewayUrl());
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") throw new Error("load generator only targets loopback");
    const names = o.models && o.models.length > 0 ? o.models : this.models.map((m) => m.name);
    const now = Date.now();
    this.state = {
      running: true,
      options: { ...o, rps, durationMs },
      sent: 0,
      byStatus: {},
      startedAt: new Date(now).toISOString(),
      endsAt: new Date(now + durationMs).toISOString(),
    };
    // Send in 20 ms slices so low rates stay smooth and high rates do not need tiny timers. What is
    // owed follows the clock, not the tick count: on a busy machine timers fire late, and counting
    // ticks would quietly lower the rate the metric gates see.
    const sliceMs = 20;
    let owed = 0;
    let i = 0;
    this.timer = setInterval(() => {
      const elapsed = Math.min(Date.now() - now, durationMs);
      const due = Math.floor((rps * elapsed) / 1000);
      while (owed < due) {
        owed++;
        if (this.inFlight >= MAX_IN_FLIGHT) continue;
        const model = names[i++ % names.length]!;
        this.fire(model, o.pool);
      }
    }, sliceMs);
    this.timer.unref();
    this.stopTimer = setTimeout(() => this.stop(), durationMs);
    this.stopTimer.unref();
    return this.status();
  }

  private fire(model: string, pool?: string): void {
    this.inFlight++;
    this.state.sent++;
    fetch(`${this.gatewayUrl()}/v1/encode/${encodeURIComponent(model)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(pool ? { "X-SIE-Pool": pool } : {}) },
      body: JSON.stringify({ items: [{ text: `load ${this.state.sent}` }] }),
    })
      .then(async (r) => {
        await r.arrayBuffer();
        this.state.byStatus[String(r.status)] = (this.state.byStatus[String(r.status)] ?? 0) + 1;
      })
      .catch(() => {
        this.state.byStatus.error = (this.state.byStatus.error ?? 0) + 1;
      })
      .finally(() => this.inFlight--);
  }

  stop(): LoadStatus {
    if (this.timer) clearInterval(this.timer);
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.timer = undefined;
    this.stopTimer = undefined;
    this.state.running = false;
    return this.status();
  }

  status(): LoadStatus {
    return structuredClone(this.state);
  }
}
