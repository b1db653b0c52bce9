// What a command holds until it ends (locks, a journal): released last first, each one even when
// an earlier release throws, so a failing journal close never leaves the stack locked.
export class Cleanups {
  private readonly releases: (() => Promise<void>)[] = [];

  add(release: () => Promise<void>): void {
    this.releases.push(release);
  }

  /** Runs every release, newest first; rethrows the first error once all have run. */
  async run(): Promise<void> {
    let first: unknown;
    for (const release of this.releases.splice(0).reverse()) {
      try {
        await release();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
