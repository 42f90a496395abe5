import { createHmac, timingSafeEqual } from 'node:crypto';

/** Deliveries whose timestamp is further than this from the receiver's clock are refused (replays). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** Headers as Node's `IncomingMessage.headers`, a fetch `Headers`, or a plain record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** An event as delivered: `type` is `run.completed`, `run.failed`, `batch.progress` or `batch.completed`. */
export interface WebhookEvent<D = Record<string, unknown>> {
  id: string;
  type: string;
  createdAt?: string;
  data: D;
}

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

const header = (headers: WebhookHeaders, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
};

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/**
 * Check a delivery's signature (docs/webhooks.md) over the raw body, exactly as received. Two
 * schemes are accepted, so a receiver keeps working while the sender moves from one to the other:
 * - Standard Webhooks: `Webhook-Signature: v1,<base64>`, HMAC-SHA256 over `<id>.<timestamp>.<body>`
 *   keyed with the base64-decoded part of the `whsec_…` secret;
 * - the earlier `v1=<hex>`: HMAC-SHA256 over `<timestamp>.<body>` keyed with the whole secret.
 * The header may list several signatures (space-separated) while a secret is rotated; one match
 * is enough. A timestamp more than `toleranceSeconds` away is refused either way.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = (header(headers, 'webhook-signature') ?? '').split(' ').filter(Boolean);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (!timestamp || !/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS))
    return false;
  const payload = Buffer.from(body);
  const hmac = (key: Buffer | string, ...parts: Array<string | Buffer>) => {
    const mac = createHmac('sha256', key);
    for (const part of parts) mac.update(part);
    return mac.digest();
  };
  const standardKey = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return signatures.some((signature) => {
    if (signature.startsWith('v1,') && id) {
      return sameBytes(Buffer.from(signature.slice(3), 'base64'), hmac(standardKey, `${id}.${timestamp}.`, payload));
    }
    if (signature.startsWith('v1=')) {
      return sameBytes(Buffer.from(signature.slice(3), 'hex'), hmac(secret, `${timestamp}.`, payload));
    }
    return false;
  });
}

/** Verify, then parse: the event, or `WebhookVerificationError` (answer 400 or 401 and drop it). */
export function parseWebhook<D = Record<string, unknown>>(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): WebhookEvent<D> {
  if (!verifyWebhook(secret, headers, body, options))
    throw new WebhookVerificationError('The webhook signature or timestamp does not verify.');
  return JSON.parse(Buffer.from(body).toString('utf8')) as WebhookEvent<D>;
}
