import { z } from 'zod';
import { ERROR_CODES } from '../../lib/errors.js';

/** Events a tenant can subscribe to. */
export const WEBHOOK_EVENTS = ['run.completed', 'run.failed', 'batch.progress', 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** A tenant's subscription. The secret is stored to sign with, and shown to the tenant once. */
export interface WebhookSubscription {
  id: string;
  tenantId: string;
  url: string;
  events: WebhookEventType[];
  secret: string;
  createdAt: string;
}

export type DeliveryState = 'pending' | 'delivering' | 'retrying' | 'delivered' | 'failed' | 'cancelled';

/** One try, as kept in a delivery's log. */
export interface DeliveryAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  error?: { code: (typeof ERROR_CODES)[number]; message: string };
}

/** One event on its way to one subscription: what was sent, how each try went. */
export interface DeliveryRecord {
  id: string;
  subscriptionId: string;
  tenantId: string;
  eventId: string;
  type: WebhookEventType;
  /** The exact JSON body that is signed and sent, identical on every try and replay. */
  body: string;
  state: DeliveryState;
  attempts: number;
  lastStatus?: number;
  lastError?: { code: (typeof ERROR_CODES)[number]; message: string };
  createdAt: string;
  updatedAt: string;
  deliveredAt?: string;
  replays: number;
  log: DeliveryAttempt[];
}

/** The `deliver-webhook` job: which delivery to try. Everything else is read from its record. */
export const webhookJobSchema = z.object({ deliveryId: z.string().regex(/^dlv_[0-9a-f]{32}$/) });
