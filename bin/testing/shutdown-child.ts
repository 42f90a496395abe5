/**
 * A process for bin/shutdown.test.ts: its close takes argv[2] ms (`never`: a promise that never
 * settles, with a timer keeping the process alive like a stuck Redis connection), under a deadline
 * of argv[3] ms.
 */
import { createLogger } from '../../lib/logger.js';
import { onShutdownSignals } from '../shutdown.js';

const [closeArg = 'never', deadlineArg = '1000'] = process.argv.slice(2);
const logger = createLogger('info');
const close = () =>
  closeArg === 'never'
    ? new Promise<void>(() => setInterval(() => undefined, 1000))
    : new Promise<void>((resolve) => setTimeout(resolve, Number(closeArg)));
onShutdownSignals(close, logger, Number(deadlineArg));
logger.info('ready');
