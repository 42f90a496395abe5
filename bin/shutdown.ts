import type { Logger } from '../lib/logger.js';

/**
 * A Ctrl-C reaches every process of the terminal's group, and `npm start` forwards its own copy to
 * the server: one keypress arrives twice within milliseconds. Repeats closer than this are that
 * echo, not an operator insisting.
 */
const REPEAT_ECHO_MS = 1000;

/** Longest wait for the log's last lines to be written before exiting anyway. */
const LOG_FLUSH_MS = 2000;

/**
 * Exit once the logger has written what it holds. pino writes stdout asynchronously, and a bare
 * `process.exit` right after the last line lost that line now and then (seen: no `stopped` line).
 */
function exitAfterFlush(logger: Logger, code: number): void {
  const exit = () => process.exit(code);
  setTimeout(exit, LOG_FLUSH_MS);
  logger.flush(exit);
}

/**
 * SIGTERM/SIGINT run the service's idempotent close once and end with one `stopped` line that says
 * how long it took; a second signal while closing forces exit, so an operator is never stuck
 * behind a job that will not finish. Past `deadlineMs` the process exits by itself (code 1), naming
 * the deadline: a close that never returns (a BullMQ worker whose blocking connection was left
 * behind by a Redis Cluster failover, RELIABILITY.md) must not hold a pod until it is SIGKILLed
 * without a word. Unfinished jobs are then like a crashed worker's: they run again elsewhere.
 */
export function onShutdownSignals(close: () => Promise<void>, logger: Logger, deadlineMs: number): void {
  let startedAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (startedAt !== undefined) {
      if (Date.now() - startedAt < REPEAT_ECHO_MS) return;
      logger.warn({ signal }, 'second signal: exiting now');
      exitAfterFlush(logger, 1);
      return;
    }
    const began = Date.now();
    startedAt = began;
    logger.info({ signal, deadlineMs }, 'shutting down: no new requests, finishing running jobs');
    const deadline = setTimeout(() => {
      logger.error(
        { signal, durationMs: Date.now() - began },
        `shutdown deadline passed (SHUTDOWN_TIMEOUT_SECONDS): exiting with the close unfinished; running jobs will run again on another worker`,
      );
      exitAfterFlush(logger, 1);
    }, deadlineMs);
    close().then(
      () => {
        clearTimeout(deadline);
        const durationMs = Date.now() - began;
        logger.info({ signal, durationMs }, `stopped in ${durationMs} ms`);
        exitAfterFlush(logger, 0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        logger.error({ err, durationMs: Date.now() - began }, 'shutdown failed');
        exitAfterFlush(logger, 1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
