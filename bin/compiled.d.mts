// Types of compiled.mjs for the TypeScript that imports it (benchmarks, tests).
export declare const REPO: string;
export declare const DIST: string;
export declare const SOURCE_DIRS: string[];
export declare const NO_COMPILED_ENV: string;
export declare function sourceFiles(): string[];
export declare function sourcesFingerprint(files?: string[]): { count: number; newestMtimeMs: number };
export declare function writeStamp(fingerprint: { count: number; newestMtimeMs: number }, dir?: string): void;
export declare function compiledIsCurrent(): boolean;
export declare function importSource(rel: string): Promise<Record<string, unknown>>;
