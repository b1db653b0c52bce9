// Whether a recorded pid is still running: used by the local lock, the cluster Lease, Pulumi's
// own lock files and the embedded cluster's daemon state.
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
