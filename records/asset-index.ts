import type { RedisConnection } from '../lib/redis.js';

/** Where a walk through a tenant's assets stands: the last asset's creation time and id. */
export interface AssetPosition {
  createdAt: string;
  id: string;
}

/** What the index keeps of an asset record. */
export interface IndexedAsset {
  id: string;
  tenantId: string;
  createdAt: string;
  sku?: string;
}

/**
 * A tenant's assets in creation order, and by SKU, in one Redis sorted set per tenant. Object
 * storage stays the source of truth (the records); this is an index that can be rebuilt by
 * listing the bucket, which is what happens the first time a tenant's assets are listed with no
 * index in Redis (a new deployment, a Redis lost), see `AssetStore.list`.
 *
 * Every member has score 0 and sorts by its bytes (ZRANGEBYLEX): `a|<createdAt>|<id>` for the
 * list of all assets, `s|<sku>|<createdAt>|<id>` for the assets of one SKU. ISO 8601 times of
 * `toISOString` sort as text, and the id breaks ties, so the order is total and never changes
 * under a walker: a position is a member, not an offset. `|` appears in no SKU, time or id. One
 * key per tenant, so a tenant's removal drops its whole index at once.
 */
export class AssetIndex {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private key = (tenantId: string) => `${this.prefix}:asset-index:${tenantId}`;
  private builtKey = (tenantId: string) => `${this.prefix}:asset-index-built:${tenantId}`;

  /** Index an asset (idempotent); `previousSku`: the SKU it just moved off, whose entry goes. */
  async add(asset: IndexedAsset, previousSku?: string): Promise<void> {
    const multi = this.redis.multi().zadd(this.key(asset.tenantId), 0, member(asset));
    if (asset.sku !== undefined) multi.zadd(this.key(asset.tenantId), 0, member(asset, asset.sku));
    if (previousSku !== undefined && previousSku !== asset.sku) multi.zrem(this.key(asset.tenantId), member(asset, previousSku));
    await multi.exec();
  }

  /** Remove an asset's entries: from the list of all assets (`all`) and from these SKUs' lists. */
  async remove(tenantId: string, at: AssetPosition, from: { all: boolean; skus?: readonly string[] }): Promise<void> {
    const members = [...(from.all ? [member(at)] : []), ...(from.skus ?? []).map((sku) => member(at, sku))];
    if (members.length) await this.redis.zrem(this.key(tenantId), ...members);
  }

  /** Forget the whole tenant (its assets are gone); the next list rebuilds from the bucket. */
  async drop(tenantId: string): Promise<void> {
    await this.redis.del(this.key(tenantId), this.builtKey(tenantId));
  }

  /** Up to `count` positions after `after`, newest first; of one SKU's assets when `sku` is given. */
  async positions(tenantId: string, sku: string | undefined, after: AssetPosition | undefined, count: number): Promise<AssetPosition[]> {
    const head = sku === undefined ? 'a|' : `s|${sku}|`;
    // `}` follows `|`: the exclusive upper bound of every member that starts with `head`.
    const max = after ? `(${head}${after.createdAt}|${after.id}` : `(${head.slice(0, -1)}}`;
    const members = await this.redis.zrevrangebylex(this.key(tenantId), max, `(${head}`, 'LIMIT', 0, count);
    return members.map((m) => {
      const [createdAt = '', id = ''] = m.slice(head.length).split('|');
      return { createdAt, id };
    });
  }

  /** True once the tenant's index holds every asset the bucket held when it was first built. */
  async isBuilt(tenantId: string): Promise<boolean> {
    return (await this.redis.exists(this.builtKey(tenantId))) === 1;
  }

  async markBuilt(tenantId: string): Promise<void> {
    await this.redis.set(this.builtKey(tenantId), new Date().toISOString());
  }
}

const member = (at: AssetPosition, sku?: string) => `${sku === undefined ? 'a' : `s|${sku}`}|${at.createdAt}|${at.id}`;
