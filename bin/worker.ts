/**
 * A worker-only process: `node dist/bin/worker.js render,publish` (or WORKER_QUEUES), so each queue
 * kind scales on its own machines. No HTTP API runs here.
 */
import { loadWorkersConfig } from '../workers/config.js';
import { onShutdownSignals } from './shutdown.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  const env = { ...process.env, ...(process.argv[2] ? { WORKER_QUEUES: process.argv[2] } : {}) };
  const { queues } = loadWorkersConfig(env);
  const service = await startService({ env, api: false, workerQueues: queues });
  // Before "ready", so a signal sent on that line finds the graceful handler (as in serve.ts).
  onShutdownSignals(service.close, service.logger, service.config.workers.shutdownTimeoutMs);
  service.logger.info({ queues, ...(service.metricsUrl ? { metrics: `${service.metricsUrl}/metrics` } : {}) }, 'worker ready');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
