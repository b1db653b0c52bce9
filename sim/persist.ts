import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ObjectStore, StoreSnapshot } from "./store.js";

export const STATE_FILE = "state.json";

/** Writes `path` atomically: a reader sees the old file or the new one, never half of one. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function loadSnapshot(dir: string): StoreSnapshot | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readFileSync(file, "utf8")) as StoreSnapshot;
  if (s.format !== 1) throw new Error(`${file}: unsupported state format ${String(s.format)}`);
  return s;
}

/** Saves the store to DIR/state.json, debounced after each change and on demand (flush). */
export class StatePersister {
  private timer?: NodeJS.Timeout;
  private dirty = false;
  private readonly onChange = () => this.schedule();

  constructor(private readonly dir: string, private readonly store: ObjectStore, private readonly debounceMs: number) {
    mkdirSync(dir, { recursive: true });
    store.on("change", this.onChange);
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty && existsSync(join(this.dir, STATE_FILE))) return;
    this.dirty = false;
    writeFileAtomic(join(this.dir, STATE_FILE), JSON.stringify(this.store.snapshot()));
  }

  close(): void {
    this.flush();
    this.store.off("change", this.onChange);
  }
}
