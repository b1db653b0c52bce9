// Takes samples of the cluster every `intervalMs` while `run` is under way, so a test can show
// what held at every moment of an upgrade, not only at its end.

/** `take` may throw (a read racing an update): that sample is skipped. */
export async function sampleWhile<T, S>(run: () => Promise<T>, take: () => Promise<S>, intervalMs: number): Promise<{ result: T; samples: S[] }> {
  const samples: S[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      try {
        samples.push(await take());
      } catch {
        // the next sample will do
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    return { result: await run(), samples };
  } finally {
    done = true;
    await loop;
  }
}
