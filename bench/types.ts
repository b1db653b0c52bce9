// What every benchmark gets from bench/run.ts and gives back.
export interface BenchOptions {
  /** Repetitions (each benchmark documents what one run is); undefined = its own default. */
  runs?: number;
  /** A short smoke run: fewer repetitions and sizes. */
  quick: boolean;
  /** P4 only: pool counts to measure (default 1,2,4,8,16). */
  pools?: number[];
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
