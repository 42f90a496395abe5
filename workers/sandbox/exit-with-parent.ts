/**
 * A sandboxed child whose worker process died (SIGKILL, OOM) would otherwise finish its job for
 * nobody: the job's lock lapses, another worker runs it again, and this orphan keeps burning a CPU.
 * A forked child learns of its parent's death when the IPC channel closes; it then exits at once.
 */
export function exitWithParent(): void {
  if (typeof process.send !== 'function') return; // not forked (a worker thread, or run directly)
  process.once('disconnect', () => process.exit(1));
}
