import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: HMAC-SHA256 over `${timestamp}.${body}` keyed with the subscription's
 * secret (the whole `whsec_…` string, as UTF-8), sent as `Webhook-Signature: v1=<hex>` next to
 * `Webhook-Timestamp` (Unix seconds) and `Webhook-Id` (the event id, stable across retries and
 * replays). See docs/webhooks.md.
 */
export const SIGNATURE_VERSION = 'v1';

/** Receivers should refuse a timestamp further than this from their clock. */
export const REPLAY_WINDOW_SECONDS = 300;

export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

export function signPayload(secret: string, timestamp: number, body: string): string {
  return `${SIGNATURE_VERSION}=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does: recompute, compare in constant time, and refuse stale timestamps. Kept
 * here so tests verify deliveries exactly as documented.
 */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > REPLAY_WINDOW_SECONDS) return false;
  const expected = Buffer.from(signPayload(secret, timestamp, body));
  // A header may carry several signatures (space-separated) while a secret is being rotated.
  return (headers.signature ?? '').split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
