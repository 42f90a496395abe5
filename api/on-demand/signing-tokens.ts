import { randomBytes } from 'node:crypto';
import { tenantPrefix } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';

/** How long a process trusts its copy of a tenant's token: a change reaches every API process within it. */
export const TOKEN_CACHE_MS = 5000;

/** `t/<tenant>/settings/on-demand-signing.json`: private, next to the tenant's objects (a tenant deletion removes it). */
export const signingTokenKey = (tenantId: string) => `${tenantPrefix(tenantId)}settings/on-demand-signing.json`;

/**
 * Per-tenant imgix signing tokens for on-demand URLs. Kept in object storage, the source of truth,
 * not in Redis: a Redis that lost its data must not turn a tenant's signed URLs into open ones.
 * Read through a short per-process cache, since every /img request needs it.
 */
export class SigningTokens {
  private readonly cache = new Map<string, { token: string | undefined; until: number }>();

  constructor(private readonly storage: ObjectStorage) {}

  /** The tenant's token, or undefined when it accepts unsigned URLs. */
  async get(tenantId: string): Promise<string | undefined> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.token;
    const raw = await this.storage.get(signingTokenKey(tenantId));
    const token = raw ? (JSON.parse(raw.toString('utf8')) as { token?: string }).token : undefined;
    this.cache.set(tenantId, { token, until: Date.now() + TOKEN_CACHE_MS });
    return token;
  }

  /** Issue a new token (replacing any): URLs signed with the old one stop working. */
  async issue(tenantId: string): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.storage.put(signingTokenKey(tenantId), Buffer.from(JSON.stringify({ token })), {
      contentType: 'application/json',
      cacheControl: 'private, no-store',
    });
    this.cache.set(tenantId, { token, until: Date.now() + TOKEN_CACHE_MS });
    return token;
  }

  /** Remove the token: the tenant's on-demand URLs are accepted unsigned again. */
  async remove(tenantId: string): Promise<void> {
    await this.storage.delete(signingTokenKey(tenantId));
    this.cache.set(tenantId, { token: undefined, until: Date.now() + TOKEN_CACHE_MS });
  }
}
