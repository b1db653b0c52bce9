// Byte-exact snapshots of a stack's config file. Restoring the file (secrets stay encrypted with
// the stack's salt) is how a revert returns to exactly the previous config.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface ConfigSnapshot {
  /** Where the copy is kept (inside the state dir; holds only encrypted secrets). */
  file: string;
  sha256: string;
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function writeAtomic(file: string, bytes: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function snapshotConfigFile(configFile: string, snapshotFile: string): ConfigSnapshot {
  const bytes = fs.readFileSync(configFile);
  writeAtomic(snapshotFile, bytes);
  return { file: snapshotFile, sha256: sha256(bytes) };
}

/** Puts the snapshot back; refuses a snapshot whose bytes no longer match its recorded hash. */
export function restoreConfigFile(configFile: string, snap: ConfigSnapshot): void {
  const bytes = fs.readFileSync(snap.file);
  if (sha256(bytes) !== snap.sha256) {
    throw new Error(`config snapshot ${snap.file} is corrupt (sha256 mismatch); restore ${configFile} from version control`);
  }
  writeAtomic(configFile, bytes);
}
