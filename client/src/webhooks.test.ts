import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseWebhook, verifyWebhook, WebhookVerificationError } from './webhooks.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const body = JSON.stringify({ id: 'evt_1', type: 'run.completed', data: { runId: 'run_1' } });
const now = 1_800_000_000;

/** Signed by the Standard Webhooks reference library, not by our own code. */
const standard = (at = now, id = 'evt_1') => new Webhook(secret).sign(id, new Date(at * 1000), body);
const legacy = (at = now) => `v1=${createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')}`;
const headers = (signature: string, at = now, id = 'evt_1') => ({
  'webhook-id': id,
  'webhook-timestamp': String(at),
  'webhook-signature': signature,
});

describe('webhook signatures', () => {
  it('accepts Standard Webhooks signatures, the legacy v1=<hex>, and both in one header', () => {
    expect(verifyWebhook(secret, headers(standard()), body, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(secret, headers(legacy()), body, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook(secret, new Headers(headers(`${standard()} ${legacy()}`)), Buffer.from(body), { nowSeconds: now })).toBe(true);
  });

  it('accepts an older base64url secret: the same key bytes', () => {
    const bytes = randomBytes(32);
    const signature = new Webhook(bytes.toString('base64')).sign('evt_1', new Date(now * 1000), body);
    expect(verifyWebhook(`whsec_${bytes.toString('base64url')}`, headers(signature), body, { nowSeconds: now })).toBe(true);
  });

  it('refuses a changed body, another id, another secret, a stale timestamp, no signature', () => {
    expect(verifyWebhook(secret, headers(standard()), `${body} `, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, headers(standard(), now, 'evt_2'), body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, headers(standard()), body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, headers(standard(now - 301), now - 301), body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, headers(legacy(now + 301), now + 301), body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, headers(''), body, { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(secret, { 'webhook-signature': standard() }, body, { nowSeconds: now })).toBe(false);
  });

  it('parses a verified event and throws on a forged one', () => {
    expect(parseWebhook(secret, headers(standard()), body, { nowSeconds: now }).data).toEqual({ runId: 'run_1' });
    // The last hex digit changed to another one (a fixed replacement would be no change one time in 16).
    const signature = legacy(now);
    const forged = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    expect(forged).not.toBe(signature);
    expect(() => parseWebhook(secret, headers(forged), body, { nowSeconds: now })).toThrow(WebhookVerificationError);
  });
});
