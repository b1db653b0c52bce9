// How every config check reports a problem: the key path it is about, what is wrong and how to fix
// it. A leaf (no imports), so the checks in release/ can report without importing the rules that
// call them; configParse.ts turns the reports into one ConfigError.

/** Key path under `sie-fleet:`, e.g. `["pools", "l4", "zones", 0]`. */
export type IssuePath = (string | number)[];
export type Report = (path: IssuePath, message: string, hint?: string) => void;
