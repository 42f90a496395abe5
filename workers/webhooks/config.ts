import { z } from 'zod';
import { envBool, envInt, parseEnv, type Env } from '../../lib/env.js';

/**
 * Connectors to the outside: webhooks out, URL ingest and the bucket inbox. Read once at boot
 * from the environment, like every folder's config.
 */
const schema = z
  .object({
    /** Tries per webhook delivery. With the default backoff, 15 tries span about 23 hours. */
    WEBHOOK_ATTEMPTS: envInt(15),
    /** First retry delay; each next one doubles (5 s, 10 s, 20 s … 11.4 h). */
    WEBHOOK_BACKOFF_MS: envInt(5000),
    /** Limit on one delivery request, connect to last byte. */
    WEBHOOK_TIMEOUT_MS: envInt(10_000),
    /** Subscriptions per tenant. */
    WEBHOOK_MAX_PER_TENANT: envInt(20),
    /**
     * Also send the pre-Standard-Webhooks signature (`v1=<hex>`) after the standard one, so older
     * receivers keep verifying during the transition; docs/webhooks.md says when it ends.
     */
    WEBHOOK_LEGACY_SIGNATURE: envBool(true),
    /** Limit on one URL ingest fetch, redirects included. */
    URL_FETCH_TIMEOUT_MS: envInt(30_000),
    URL_FETCH_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
    /** Tests only: lets URL ingest and webhooks reach 127.0.0.0/8 and ::1 (no other class). */
    URL_FETCH_ALLOW_LOOPBACK: envBool(false),
    /** Folder under each tenant's prefix watched for new originals; unset: no inbox. */
    INBOX_PREFIX: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'one lowercase folder name, e.g. inbox')
      .optional(),
    INBOX_POLL_SECONDS: envInt(30),
  })
  .transform((e) => ({
    webhooks: {
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxPerTenant: e.WEBHOOK_MAX_PER_TENANT,
      legacySignature: e.WEBHOOK_LEGACY_SIGNATURE,
    },
    urlFetch: {
      timeoutMs: e.URL_FETCH_TIMEOUT_MS,
      maxRedirects: e.URL_FETCH_MAX_REDIRECTS,
      allowLoopbackForTests: e.URL_FETCH_ALLOW_LOOPBACK,
    },
    inbox: e.INBOX_PREFIX ? { folder: e.INBOX_PREFIX, pollMs: e.INBOX_POLL_SECONDS * 1000 } : undefined,
  }));

export type ConnectorsConfig = z.output<typeof schema>;
export const loadConnectorsConfig = (env: Env): ConnectorsConfig => parseEnv(schema, env, 'webhook/ingest');
