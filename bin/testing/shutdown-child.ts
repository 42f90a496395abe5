/**
 * A process for bin/shutdown.test.ts: its close takes argv[2] ms (`never`: a promise that never
 * settles, like a BullMQ worker stuck on a lost connection), under a deadline of argv[3] ms.
 */
import { createLogger } from '../../lib/logger.js';
import { onShutdownSignals } from '../shutdown.js';

const [closeArg = 'never', deadlineArg = '1000'] = process.argv.slice(2);
const logger = createLogger('info');
const close = () =>
  closeArg === 'never' ? new Promise<void>(() => undefined) : new Promise<void>((resolve) => setTimeout(resolve, Number(closeArg)));
onShutdownSignals(close, logger, Number(deadlineArg));
// What a server's listening socket does in a real process: keep it alive until it is told to stop
// (without it the process could end on its own right after "ready", before the signal arrives).
setInterval(() => undefined, 60_000);
logger.info('ready');
