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
  constructor(private readonly redis: RedisConnection, private readonly prefix: string, private readonly maxPerTenant: number) {}

  private key = (tenantId: string) => `${this.prefix}:templates:${tenantId}`;

  async list(tenantId: string): Promise<StoredTemplate[]> {
    const own = await this.redis.hgetall(this.key(tenantId));
    const out = new Map<string, StoredTemplate>();
    for (const [id, t] of builtinTemplates()) out.set(id, { ...t, builtin: true });
    for (const [id, raw] of Object.entries(own)) out.set(id, { ...parseTemplate(JSON.parse(raw), `stored template ${id}`), builtin: false });
    return [...out.values()].sort((a, b) => a.template.id.localeCompare(b.template.id));
  }

  async get(tenantId: string, id: string): Promise<StoredTemplate | undefined> {
    const raw = await this.redis.hget(this.key(tenantId), id);
    if (raw) return { ...parseTemplate(JSON.parse(raw), `stored template ${id}`), builtin: false };
    const builtin = builtinTemplates().get(id);
    return builtin ? { ...builtin, builtin: true } : undefined;
  }

  /** Create or replace a tenant template (a built-in id makes an override). Throws 422 naming the field. */
  async put(tenantId: string, id: string, raw: unknown): Promise<{ stored: StoredTemplate; created: boolean }> {
    const body = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { id, ...(raw as Record<string, unknown>) } : raw;
    const versioned = parseTemplate(body);
    if (versioned.template.id !== id) {
      throw new AppError('INVALID_TEMPLATE', `Invalid template: id: "${versioned.template.id}" does not match the URL's "${id}"`, {
        issues: [{ path: 'id', message: "does not match the URL's id" }],
      });
    }
    const exists = await this.redis.hexists(this.key(tenantId), id);
    if (!exists && (await this.redis.hlen(this.key(tenantId))) >= this.maxPerTenant) {
      throw new AppError('TOO_MANY_TEMPLATES', `A tenant may define at most ${this.maxPerTenant} templates (MAX_TEMPLATES_PER_TENANT); delete one first.`, { limit: this.maxPerTenant });
    }
    await this.redis.hset(this.key(tenantId), id, JSON.stringify(versioned.template));
    return { stored: { ...versioned, builtin: false }, created: !exists };
  }

  /** Delete a tenant template (a built-in it overrode shows again). False when the tenant has none by that id. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(tenantId), id)) === 1;
  }
}
