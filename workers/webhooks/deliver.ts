import { AppError, isPermanent } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { postToPublicUrl } from '../../lib/safe-fetch.js';
import type { GuardOptions } from '../../lib/safe-fetch-connect.js';
import { describeJobFailure, toJobError } from '../job-errors.js';
import type { ConnectorsConfig } from './config.js';
import { signatureHeader } from './signature.js';
import type { WebhookStore } from './store.js';
import type { DeliveryAttempt } from './types.js';

export interface DeliveryDeps {
  store: WebhookStore;
  config: ConnectorsConfig['webhooks'];
  /** The address policy every delivery goes through (tests may allow loopback). */
  guard: GuardOptions;
  logger: Logger;
}

export type DeliveryOutcome = { state: 'delivered'; status: number } | { state: 'skipped'; reason: string };

/**
 * One try of one delivery: sign the stored body with a fresh timestamp (Standard Webhooks, and
 * the legacy signature while WEBHOOK_LEGACY_SIGNATURE is on) and POST it to the
 * subscription's URL, checked by the URL guard again (DNS may have changed since subscribing).
 * A 2xx is delivered; anything else throws so BullMQ retries with backoff, and the last try, or a
 * refused address, marks the delivery failed. Each try is logged on the record.
 */
export async function processDelivery(deps: DeliveryDeps, deliveryId: string, attempt: { last: boolean }): Promise<DeliveryOutcome> {
  const { store } = deps;
  const record = await store.getDelivery(deliveryId);
  if (!record) return { state: 'skipped', reason: 'delivery record expired' };
  // A job that runs again after a success (a duplicate, or a crash before it was acknowledged) sends nothing.
  if (record.state === 'delivered') return { state: 'skipped', reason: 'already delivered' };
  const sub = await store.get(record.tenantId, record.subscriptionId);
  if (!sub) {
    await store.updateDelivery(deliveryId, { state: 'cancelled' });
    return { state: 'skipped', reason: 'subscription deleted' };
  }
  const number = record.attempts + 1;
  await store.updateDelivery(deliveryId, { state: 'delivering', attempts: number });
  const timestamp = Math.floor(Date.now() / 1000);
  const started = Date.now();
  const at = new Date(started).toISOString();
  let status: number | undefined;
  try {
    const response = await postToPublicUrl(sub.url, {
      ...deps.guard,
      timeoutMs: deps.config.timeoutMs,
      body: Buffer.from(record.body),
      headers: {
        'content-type': 'application/json',
        'webhook-id': record.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader({
          secret: sub.secret,
          webhookId: record.eventId,
          timestamp,
          body: record.body,
          legacy: deps.config.legacySignature,
        }),
        'webhook-attempt': String(number),
      },
    });
    status = response.status;
    if (status < 200 || status > 299) {
      throw new AppError('WEBHOOK_DELIVERY_FAILED', `The receiver answered ${status}.`, { status });
    }
  } catch (err) {
    const error = describeJobFailure(toJobError(err).message);
    const final = attempt.last || isPermanent(err);
    const logged: DeliveryAttempt = {
      attempt: number,
      at,
      durationMs: Date.now() - started,
      error,
      ...(status !== undefined ? { status } : {}),
    };
    await store.updateDelivery(
      deliveryId,
      { state: final ? 'failed' : 'retrying', lastError: error, ...(status !== undefined ? { lastStatus: status } : {}) },
      logged,
    );
    deps.logger.warn({ deliveryId, eventId: record.eventId, attempt: number, final, code: error.code }, 'webhook delivery failed');
    throw toJobError(err);
  }
  const now = new Date().toISOString();
  await store.updateDelivery(
    deliveryId,
    { state: 'delivered', lastStatus: status, lastError: undefined, deliveredAt: now },
    { attempt: number, at, durationMs: Date.now() - started, status },
  );
  return { state: 'delivered', status };
}
