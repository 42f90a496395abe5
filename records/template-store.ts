import type { RedisConnection } from '../lib/redis.js';
import { AppError } from '../lib/errors.js';
import { builtinTemplates } from '../templates/builtin.js';
import { parseTemplate, type VersionedTemplate } from '../templates/schema.js';

/** A template as a tenant sees it: its own (which may override a built-in id) or a built-in. */
export interface StoredTemplate extends VersionedTemplate {
  builtin: boolean;
}

/**
 * Tenant templates in Redis (one hash per tenant: id → JSON), layered over the built-ins. Each is
 * validated on the way in and again on the way out, so a schema change never serves a bad one.
 */
export class TemplateStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly maxPerTenant: number,
  ) {}

  private key = (tenantId: string) => `${this.prefix}:templates:${tenantId}`;

  async list(tenantId: string): Promise<StoredTemplate[]> {
    const own = await this.redis.hgetall(this.key(tenantId));
    const out = new Map<string, StoredTemplate>();
    for (const [id, t] of builtinTemplates()) out.set(id, { ...t, builtin: true });
    for (const [id, raw] of Object.entries(own))
      out.set(id, { ...parseTemplate(JSON.parse(raw), `stored template ${id}`), builtin: false });
    return [...out.values()].sort((a, b) => a.template.id.localeCompare(b.template.id));
  }

  async get(tenantId: string, id: string): Promise<StoredTemplate | undefined> {
    return this.resolve(id, await this.redis.hget(this.key(tenantId), id));
  }

  /** What a tenant sees under an id, from its own stored JSON (null: none) or else the built-in. */
  private resolve(id: string, raw: string | null): StoredTemplate | undefined {
    if (raw) return { ...parseTemplate(JSON.parse(raw), `stored template ${id}`), builtin: false };
    const builtin = builtinTemplates().get(id);
    return builtin ? { ...builtin, builtin: true } : undefined;
  }

  /**
   * Create or replace a tenant template (a built-in id makes an override). Throws 422 naming the
   * field. `precondition` (If-Match) judges the template as it is, and the write happens only if
   * nothing changed it since: a lost update is refused, not made.
   */
  async put(
    tenantId: string,
    id: string,
    raw: unknown,
    precondition?: Precondition,
  ): Promise<{ stored: StoredTemplate; created: boolean }> {
    const body = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { id, ...(raw as Record<string, unknown>) } : raw;
    const versioned = parseTemplate(body);
    if (versioned.template.id !== id) {
      throw new AppError('INVALID_TEMPLATE', `Invalid template: id: "${versioned.template.id}" does not match the URL's "${id}"`, {
        issues: [{ path: 'id', message: "does not match the URL's id" }],
      });
    }
    const json = JSON.stringify(versioned.template);
    const written = await this.compareAndSet(tenantId, id, precondition, async (own) => {
      if (!own && (await this.redis.hlen(this.key(tenantId))) >= this.maxPerTenant) {
        throw new AppError(
          'TOO_MANY_TEMPLATES',
          `A tenant may define at most ${this.maxPerTenant} templates (MAX_TEMPLATES_PER_TENANT); delete one first.`,
          { limit: this.maxPerTenant },
        );
      }
      return json;
    });
    return { stored: { ...versioned, builtin: false }, created: !written.existed };
  }

  /** Delete a tenant template (a built-in it overrode shows again). False when the tenant has none by that id. */
  async delete(tenantId: string, id: string, precondition?: Precondition): Promise<boolean> {
    return (await this.compareAndSet(tenantId, id, precondition, async () => null)).existed;
  }

  /**
   * Read the tenant's own JSON under `id`, let `precondition` judge what the tenant sees there, and
   * write `next(own)` (null deletes) only while the stored value is still the one read. Without a
   * precondition the last writer wins, as before; with one, a change in between is read again and
   * judged again (it normally fails the precondition: its version moved).
   */
  private async compareAndSet(
    tenantId: string,
    id: string,
    precondition: Precondition | undefined,
    next: (own: string | null) => Promise<string | null>,
  ): Promise<{ existed: boolean }> {
    const key = this.key(tenantId);
    for (let attempt = 1; ; attempt++) {
      const own = await this.redis.hget(key, id);
      precondition?.(this.resolve(id, own));
      const value = await next(own);
      if (!precondition) {
        return { existed: value === null ? (await this.redis.hdel(key, id)) === 1 : (await this.redis.hset(key, id, value)) === 0 };
      }
      if (own === null && value === null) return { existed: false };
      if ((await this.redis.eval(SET_IF_UNCHANGED, 1, key, id, own ?? '', value ?? '')) === 1) return { existed: own !== null };
      if (attempt === MAX_SWAP_ATTEMPTS)
        throw new AppError('PRECONDITION_FAILED', 'The template kept changing while this request tried to write it; read it again.');
    }
  }
}

/** Judges the template a write would replace (undefined: none); throws to refuse the write. */
export type Precondition = (current: StoredTemplate | undefined) => void;

/** A write whose template changed under it is judged again this many times before giving up. */
const MAX_SWAP_ATTEMPTS = 3;

/**
 * HSET (or HDEL, for an empty ARGV[3]) field ARGV[1] only while it still holds ARGV[2] ('' for
 * absent: a stored template is never empty). 1 when written, 0 when it had changed.
 */
const SET_IF_UNCHANGED = `
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;
