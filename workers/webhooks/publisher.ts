import { createHash, randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../../lib/logger.js';
import type { ConnectorsConfig } from './config.js';
import { deliveryIdFor, type WebhookStore } from './store.js';
import type { DeliveryRecord, WebhookEventType } from './types.js';

/** The job that delivers one event to one subscription (workers/catalogue.ts). */
export const DELIVER_JOB = 'deliver-webhook';

/** Turns product events into signed deliveries to each subscribed URL. */
export interface EventPublisher {
  /**
   * Publish an event to every subscription of the tenant that wants its type. With an `eventKey`
   * (e.g. a run id), the event id is derived from it, so publishing the same happening twice
   * delivers it once. Returns the event id.
   */
  publish(tenantId: string, type: WebhookEventType, data: Record<string, unknown>, eventKey?: string): Promise<string>;
  /** Send a delivery again (same event id and body, freshly signed); its log continues. */
  replay(deliveryId: string): Promise<void>;
}

export const eventIdFor = (tenantId: string, type: string, eventKey: string) =>
  `evt_${createHash('sha256').update(`${tenantId}\n${type}\n${eventKey}`).digest('hex').slice(0, 32)}`;

export function createEventPublisher(deps: {
  store: WebhookStore;
  /** The queue `deliver-webhook` jobs run on (publish: network-bound work). */
  queue: Queue;
  config: ConnectorsConfig['webhooks'];
  logger: Logger;
}): EventPublisher {
  const { store, queue, config } = deps;
  const enqueue = (deliveryId: string, jobId: string) =>
    queue.add(
      DELIVER_JOB,
      { deliveryId },
      {
        jobId,
        attempts: config.attempts,
        backoff: { type: 'exponential', delay: config.backoffMs, jitter: 0.2 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );

  return {
    async publish(tenantId, type, data, eventKey) {
      const eventId = eventKey ? eventIdFor(tenantId, type, eventKey) : `evt_${randomUUID().replaceAll('-', '')}`;
      const subscribers = await store.subscribersOf(tenantId, type);
      if (subscribers.length === 0) return eventId;
      const createdAt = new Date().toISOString();
      const body = JSON.stringify({ id: eventId, type, createdAt, data });
      for (const sub of subscribers) {
        const id = deliveryIdFor(sub.id, eventId);
        const record: DeliveryRecord = {
          id,
          subscriptionId: sub.id,
          tenantId,
          eventId,
          type,
          body,
          state: 'pending',
          attempts: 0,
          createdAt,
          updatedAt: createdAt,
          replays: 0,
          log: [],
        };
        // An event published again finds its delivery and adds no job: BullMQ keeps one job per id.
        if (await store.createDelivery(record)) await enqueue(id, id);
      }
      deps.logger.debug({ tenantId, type, eventId, subscribers: subscribers.length }, 'webhook event published');
      return eventId;
    },
    async replay(deliveryId) {
      const record = await store.getDelivery(deliveryId);
      if (!record) return;
      const replays = record.replays + 1;
      await store.updateDelivery(deliveryId, { state: 'pending', replays });
      await enqueue(deliveryId, `${deliveryId}-replay-${replays}`);
    },
  };
}
