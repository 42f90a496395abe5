import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisConnection } from '../lib/redis.js';
import { notFound } from '../lib/errors.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  createdAt: string;
  /** The key's first characters, so people can tell their keys apart; never enough to use it. */
  hint?: string;
}

/** Only the SHA-256 of a key is stored: a leaked Redis dump does not leak usable keys. */
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** Where a key's record lives (by its hash): read by the store and by the rate limit (api/guards/rate-limit.ts). */
export const apiKeyRecordKey = (prefix: string, hash: string) => `${prefix}:apikey:${hash}`;

const newId = (prefix: string, bytes: number) => `${prefix}_${randomBytes(bytes).toString('hex')}`;

/** Tenants and their API keys, in Redis. */
export class TenantStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private tenantKey = (id: string) => `${this.prefix}:tenant:${id}`;
  private apiKeyKey = (hash: string) => apiKeyRecordKey(this.prefix, hash);
  /** Hash of field keyId → key hash: lets a tenant's keys be listed and revoked by id. */
  private tenantKeysKey = (tenantId: string) => `${this.prefix}:tenant-keys:${tenantId}`;

  async createTenant(name: string): Promise<Tenant> {
    const tenant: Tenant = { id: newId('tn', 8), name, createdAt: new Date().toISOString() };
    await this.redis.set(this.tenantKey(tenant.id), JSON.stringify(tenant));
    return tenant;
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const raw = await this.redis.get(this.tenantKey(id));
    return raw ? (JSON.parse(raw) as Tenant) : undefined;
  }

  /** Issue a key for a tenant. The plain key is returned once and never stored. */
  async createKey(tenantId: string): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!(await this.getTenant(tenantId))) throw notFound('Tenant');
    const key = `ipk_${randomBytes(24).toString('base64url')}`;
    const record: ApiKeyRecord = { keyId: newId('key', 6), tenantId, createdAt: new Date().toISOString(), hint: `${key.slice(0, 8)}…` };
    const hash = hashApiKey(key);
    await this.redis
      .multi()
      .set(this.apiKeyKey(hash), JSON.stringify(record))
      .hset(this.tenantKeysKey(tenantId), record.keyId, hash)
      .exec();
    return { key, record };
  }

  /** A tenant's keys (ids, hints and dates; never the keys). */
  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    if (!(await this.getTenant(tenantId))) throw notFound('Tenant');
    const hashes = Object.values(await this.redis.hgetall(this.tenantKeysKey(tenantId)));
    if (hashes.length === 0) return [];
    const raw = await this.redis.mget(...hashes.map(this.apiKeyKey));
    return raw.flatMap((r) => (r ? [JSON.parse(r) as ApiKeyRecord] : [])).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revoke a key at once: the next request that presents it gets 401. */
  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const hash = await this.redis.hget(this.tenantKeysKey(tenantId), keyId);
    if (!hash) throw notFound('API key');
    await this.redis.multi().del(this.apiKeyKey(hash)).hdel(this.tenantKeysKey(tenantId), keyId).exec();
  }

  /** Revoke every key of a tenant (it is being deleted); none is not an error. */
  async revokeAllKeys(tenantId: string): Promise<void> {
    const hashes = Object.values(await this.redis.hgetall(this.tenantKeysKey(tenantId)));
    for (const hash of hashes) await this.redis.del(this.apiKeyKey(hash));
    await this.redis.del(this.tenantKeysKey(tenantId));
  }

  /** Remove a tenant's record (after its keys and objects); an absent one is not an error. */
  async deleteTenant(tenantId: string): Promise<void> {
    await this.redis.del(this.tenantKey(tenantId));
  }

  /** Issue a replacement for a key and revoke the old one. */
  async rotateKey(tenantId: string, keyId: string): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!(await this.redis.hexists(this.tenantKeysKey(tenantId), keyId))) throw notFound('API key');
    const issued = await this.createKey(tenantId);
    await this.revokeKey(tenantId, keyId);
    return issued;
  }

  async resolveKey(key: string): Promise<ApiKeyRecord | undefined> {
    const raw = await this.redis.get(this.apiKeyKey(hashApiKey(key)));
    return raw ? (JSON.parse(raw) as ApiKeyRecord) : undefined;
  }
}

/** Constant-time comparison of a presented key with the configured admin key. */
export function isAdminKey(presented: string, adminKey: string | undefined): boolean {
  if (!adminKey) return false;
  return timingSafeEqual(Buffer.from(hashApiKey(presented), 'hex'), Buffer.from(hashApiKey(adminKey), 'hex'));
}
