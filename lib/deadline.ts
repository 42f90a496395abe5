/**
 * `work`, or a rejection with `onTimeout()` once `ms` have passed: the one way a wait is bounded
 * (a guard's Redis call, a readiness probe, the upload check's decode). The timer is cleared
 * either way. `work` itself is not stopped: it finishes (or is killed) on its own, and a failure
 * after the deadline has nowhere to go.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
