import type { BatchEventSink } from '../batches/events.js';
import type { EventPublisher } from './publisher.js';

/**
 * Batch events as webhooks: `batch.progress` and `batch.completed`. Event ids derive from what
 * the event says (a completed batch once; a progress figure once, whichever process reports it),
 * so the same news is delivered once.
 */
export function webhookBatchSink(publisher: EventPublisher): BatchEventSink {
  return {
    async batchProgress(event) {
      const { completed, failed, cancelled } = event.counts;
      const key = `${event.batchId}:progress:${event.state}:${completed}:${failed}:${cancelled}`;
      await publisher.publish(event.tenantId, 'batch.progress', { ...event }, key);
    },
    async batchCompleted(event) {
      await publisher.publish(event.tenantId, 'batch.completed', { ...event }, `${event.batchId}:completed`);
    },
  };
}
