/**
 * True when a process with this id runs on this machine (possibly another one that reused the
 * id: callers that clean up after dead processes pair this with an age). EPERM means it exists
 * but belongs to someone else.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
