import { execReplies, type RedisConnection } from '../lib/redis.js';

/** The template (id and version, the run's params applied) an asset's latest run used, and that run's recipe. */
export interface TemplateUse {
  id: string;
  version: string;
  /** The recipe as the run was asked for: a template edit re-runs it. */
  recipe?: unknown;
}

/**
 * Which template each asset's latest run used, per tenant, in Redis: a hash asset → template and
 * one set of asset ids per template, so a template edit can find the catalog to re-render.
 */
export class TemplateUsage {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private byAssetKey = (tenantId: string) => `${this.prefix}:asset-template:${tenantId}`;
  private byTemplateKey = (tenantId: string, templateId: string) => `${this.prefix}:template-assets:${tenantId}:${templateId}`;

  /** Record the template a new run of an asset applies (`undefined`: the run applies none). */
  async record(tenantId: string, assetId: string, use: TemplateUse | undefined): Promise<void> {
    if (!use) {
      // Most runs apply no template: forget the asset's in one write, and only when it had one,
      // take the asset off that template's set too.
      const [raw] = (await execReplies(
        this.redis.multi().hget(this.byAssetKey(tenantId), assetId).hdel(this.byAssetKey(tenantId), assetId),
      )) as [string | null];
      if (raw) await this.redis.srem(this.byTemplateKey(tenantId, (JSON.parse(raw) as TemplateUse).id), assetId);
      return;
    }
    const previous = await this.templateOf(tenantId, assetId);
    const tx = this.redis.multi();
    if (previous && previous.id !== use.id) tx.srem(this.byTemplateKey(tenantId, previous.id), assetId);
    tx.hset(this.byAssetKey(tenantId), assetId, JSON.stringify(use));
    tx.sadd(this.byTemplateKey(tenantId, use.id), assetId);
    await tx.exec();
  }

  /** The template an asset's latest run used, if any. */
  async templateOf(tenantId: string, assetId: string): Promise<TemplateUse | undefined> {
    const raw = await this.redis.hget(this.byAssetKey(tenantId), assetId);
    return raw ? (JSON.parse(raw) as TemplateUse) : undefined;
  }

  /** The ids of a tenant's assets whose latest run used `templateId` (any version), sorted. */
  async assetsUsingTemplate(tenantId: string, templateId: string): Promise<string[]> {
    return (await this.redis.smembers(this.byTemplateKey(tenantId, templateId))).sort();
  }
}
