import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Webhook signatures per Standard Webhooks (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the bytes the base64 after `whsec_`
 * encodes, sent as `webhook-signature: v1,<base64>`. The `standardwebhooks` and `svix` libraries
 * verify it. During the transition (WEBHOOK_LEGACY_SIGNATURE, docs/webhooks.md) the header also
 * carries the signature this service sent before, `v1=<hex>` of `${timestamp}.${body}` keyed with
 * the whole secret string, space-separated after the standard one as the specification allows.
 */

/** Receivers should refuse a timestamp further than this from their clock (the libraries' window). */
export const REPLAY_WINDOW_SECONDS = 300;

/**
 * A new secret: `whsec_` and standard base64 of 32 random bytes. Secrets issued before Standard
 * Webhooks signing used base64url (`-` and `_`, no padding); they keep working, see `standardSecret`.
 */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const SECRET = /^whsec_(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/** The HMAC key the specification names: the bytes of the base64 (or older base64url) after `whsec_`. */
export function signingKey(secret: string): Buffer {
  if (!SECRET.test(secret)) throw new Error('A webhook secret is `whsec_` followed by base64.');
  // Node's base64 decoder reads both alphabets, so an older base64url secret yields the same bytes.
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/**
 * The secret as Standard Webhooks libraries take it (they decode standard base64 only): a new
 * secret unchanged, an older base64url one re-encoded. Same key bytes, so the same signatures.
 */
export const standardSecret = (secret: string) => `whsec_${signingKey(secret).toString('base64')}`;

/** `v1,<base64>`, computed by the `standardwebhooks` library itself. */
export function signStandard(secret: string, webhookId: string, timestamp: number, body: string): string {
  return new Webhook(signingKey(secret), { format: 'raw' }).sign(webhookId, new Date(timestamp * 1000), body);
}

/** The signature sent before Standard Webhooks, kept during the transition: `v1=<hex>`. */
export function signLegacy(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The `webhook-signature` header: the standard signature, then the legacy one while it is on. */
export function signatureHeader(input: { secret: string; webhookId: string; timestamp: number; body: string; legacy: boolean }): string {
  const standard = signStandard(input.secret, input.webhookId, input.timestamp, input.body);
  return input.legacy ? `${standard} ${signLegacy(input.secret, input.timestamp, input.body)}` : standard;
}
