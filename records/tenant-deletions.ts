import type { RedisConnection } from '../lib/redis.js';

/** Where a tenant's deletion stands: `GET /v1/tenants/:id/deletion`. */
export interface TenantDeletion {
  tenantId: string;
  /** queued: waits for a publish worker; running: removing (`attempts` so far); completed; failed: out of retries. */
  state: 'queued' | 'running' | 'completed' | 'failed';
  requestedAt: string;
  updatedAt: string;
  /** Tries of the removal job so far. */
  attempts: number;
  /** Objects removed and runs cancelled, once completed. */
  removed?: number;
  cancelledRuns?: number;
  /** The last failure, while retrying or once failed. */
  error?: string;
}

/** A finished deletion's record is kept this long, so a late DELETE still answers 204 and the status stays readable. */
const FINISHED_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The state of each tenant's deletion, in Redis beside the tenant records. The request writes
 * `queued`; the `delete-tenant` job moves it on. One key per tenant; a repeated request keeps the
 * first `requestedAt`.
 */
export class TenantDeletionStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private key = (tenantId: string) => `${this.prefix}:tenant-deletion:${tenantId}`;

  async get(tenantId: string): Promise<TenantDeletion | undefined> {
    const raw = await this.redis.get(this.key(tenantId));
    return raw ? (JSON.parse(raw) as TenantDeletion) : undefined;
  }

  /** True while the tenant is being deleted or once it was: no new key may be issued to it. */
  async isDeleting(tenantId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(tenantId))) === 1;
  }

  /**
   * Record a request, given the tenant's deletion as last read (`get`): `queued` (again, after a
   * failure); the first request's time is kept while one is pending.
   */
  async request(tenantId: string, previous: TenantDeletion | undefined): Promise<TenantDeletion> {
    const now = new Date().toISOString();
    const pending = previous && (previous.state === 'queued' || previous.state === 'running');
    const next: TenantDeletion = pending
      ? previous
      : { tenantId, state: 'queued', requestedAt: now, updatedAt: now, attempts: previous?.attempts ?? 0 };
    await this.redis.set(this.key(tenantId), JSON.stringify(next));
    return next;
  }

  /** The job's progress: `running` at each try, then `completed` or `failed` (kept for {@link FINISHED_TTL_SECONDS}). */
  async update(tenantId: string, change: Partial<Omit<TenantDeletion, 'tenantId' | 'requestedAt'>>): Promise<void> {
    const previous = await this.get(tenantId);
    const now = new Date().toISOString();
    const next: TenantDeletion = {
      ...(previous ?? { tenantId, requestedAt: now, state: 'running', attempts: 0 }),
      ...change,
      updatedAt: now,
    };
    const finished = next.state === 'completed' || next.state === 'failed';
    if (finished) await this.redis.set(this.key(tenantId), JSON.stringify(next), 'EX', FINISHED_TTL_SECONDS);
    else await this.redis.set(this.key(tenantId), JSON.stringify(next));
  }
}
