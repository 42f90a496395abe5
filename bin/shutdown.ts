import type { Logger } from '../lib/logger.js';

/**
 * SIGTERM/SIGINT run the service's idempotent close once; a second signal while closing forces
 * exit, so an operator is never stuck behind a job that will not finish.
 */
export function onShutdownSignals(close: () => Promise<void>, logger: Logger): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing running jobs');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
