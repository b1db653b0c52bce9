// What every benchmark gets from bench/run.ts and gives back.
export interface BenchOptions {
  /** Repetitions (each benchmark documents what one run is); undefined = its own default. */
  runs?: number;
  /** A short smoke run: fewer repetitions and sizes. */
  quick: boolean;
  /** P4 and P8: pool counts to measure (each has its own default). */
  pools?: number[];
  /** P8 only: seconds a new worker takes to pass its startup probe (default 60, --quick 10). */
  startSeconds?: number;
  /** P8 only: rollout.batchSize of the batched plan, measured beside the default batch size 1 (default 4). */
  batchSize?: number;
  log(line: string): void;
}

export interface BenchOutput {
  /** Printed as is. */
  tables: string[];
  /** Written to bench/results/<name>.json (with the machine notes added by run.ts). */
  json: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  title: string;
  run(opts: BenchOptions): Promise<BenchOutput>;
}
