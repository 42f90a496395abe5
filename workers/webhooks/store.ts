import { createHash, randomUUID } from 'node:crypto';
import { fillPage, pageOfSorted, type Page } from '../../lib/cursor.js';
import type { RedisConnection } from '../../lib/redis.js';
import type { DeliveryAttempt, DeliveryRecord, WebhookEventType, WebhookSubscription } from './types.js';

/** Delivery records live this long after their last write. */
const DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
/** Deliveries a subscription's log lists (newest first). */
const DELIVERIES_PER_SUBSCRIPTION = 1000;
/**
 * Up to ARGV[2] delivery ids after ARGV[1] (from the newest when empty) in a subscription's log.
 * The log only grows at its head and is trimmed at its tail, so an id's position, found in the
 * same atomic step as the read, is a stable place to go on from; an id trimmed away had only
 * older ones behind it, trimmed before it: the walk is at its end.
 */
const DELIVERIES_AFTER = `
local from = 0
if ARGV[1] ~= '' then
  local at = redis.call('LPOS', KEYS[1], ARGV[1])
  if not at then return {} end
  from = at + 1
end
return redis.call('LRANGE', KEYS[1], from, from + tonumber(ARGV[2]) - 1)
`;

/** Tries kept in one delivery's own log. */
const ATTEMPTS_KEPT = 30;

/** The delivery of one event to one subscription has one id, however often the event is published. */
export const deliveryIdFor = (subscriptionId: string, eventId: string) =>
  `dlv_${createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('hex').slice(0, 32)}`;

/**
 * Subscriptions and delivery records in Redis (like run records: the queue holds the work, these
 * hold what a tenant can read back).
 */
export class WebhookStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  private subKey = (id: string) => `${this.prefix}:webhook:${id}`;
  private tenantSubsKey = (tenantId: string) => `${this.prefix}:webhooks:${tenantId}`;
  private deliveryKey = (id: string) => `${this.prefix}:webhook-delivery:${id}`;
  private subDeliveriesKey = (subscriptionId: string) => `${this.prefix}:webhook-deliveries:${subscriptionId}`;

  async create(input: Omit<WebhookSubscription, 'id' | 'createdAt'>): Promise<WebhookSubscription> {
    const sub: WebhookSubscription = { id: `whk_${randomUUID().replaceAll('-', '')}`, createdAt: new Date().toISOString(), ...input };
    await this.redis.multi().set(this.subKey(sub.id), JSON.stringify(sub)).sadd(this.tenantSubsKey(sub.tenantId), sub.id).exec();
    return sub;
  }

  async count(tenantId: string): Promise<number> {
    return this.redis.scard(this.tenantSubsKey(tenantId));
  }

  /** A subscription of this tenant, or `undefined` (also when it belongs to someone else). */
  async get(tenantId: string, id: string): Promise<WebhookSubscription | undefined> {
    const raw = await this.redis.get(this.subKey(id));
    const sub = raw ? (JSON.parse(raw) as WebhookSubscription) : undefined;
    return sub && sub.tenantId === tenantId ? sub : undefined;
  }

  async list(tenantId: string): Promise<WebhookSubscription[]> {
    const ids = await this.redis.smembers(this.tenantSubsKey(tenantId));
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map(this.subKey));
    return raws
      .filter((r): r is string => r !== null)
      .map((r) => JSON.parse(r) as WebhookSubscription)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** One page of the tenant's subscriptions, oldest first (creation time, then id); `after`: {@link subscriptionOrderKey}. */
  async page(tenantId: string, after: string | undefined, limit: number): Promise<Page<WebhookSubscription, string>> {
    return pageOfSorted(await this.list(tenantId), subscriptionOrderKey, after, limit);
  }

  /** The tenant's subscriptions to one event type. */
  async subscribersOf(tenantId: string, type: WebhookEventType): Promise<WebhookSubscription[]> {
    return (await this.list(tenantId)).filter((s) => s.events.includes(type));
  }

  /** Remove a subscription; its pending deliveries find it gone and stop. True when it existed. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    if (!(await this.get(tenantId, id))) return false;
    await this.redis.multi().del(this.subKey(id)).srem(this.tenantSubsKey(tenantId), id).exec();
    return true;
  }

  /** Create a delivery unless one exists for the same subscription and event. True when created. */
  async createDelivery(record: DeliveryRecord): Promise<boolean> {
    const created = await this.redis.set(this.deliveryKey(record.id), JSON.stringify(record), 'EX', DELIVERY_TTL_SECONDS, 'NX');
    if (created !== 'OK') return false;
    await this.redis
      .multi()
      .lpush(this.subDeliveriesKey(record.subscriptionId), record.id)
      .ltrim(this.subDeliveriesKey(record.subscriptionId), 0, DELIVERIES_PER_SUBSCRIPTION - 1)
      .exec();
    return true;
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const raw = await this.redis.get(this.deliveryKey(id));
    return raw ? (JSON.parse(raw) as DeliveryRecord) : undefined;
  }

  /** A delivery of this tenant's, or `undefined`. */
  async getTenantDelivery(tenantId: string, id: string): Promise<DeliveryRecord | undefined> {
    const record = await this.getDelivery(id);
    return record && record.tenantId === tenantId ? record : undefined;
  }

  /** The newest `limit` deliveries of a subscription. */
  async deliveriesOf(subscriptionId: string, limit = 100): Promise<DeliveryRecord[]> {
    return (await this.deliveryPage(subscriptionId, undefined, limit)).items;
  }

  /** One page of a subscription's delivery log, newest first, after the delivery `after`. Expired records are skipped. */
  async deliveryPage(subscriptionId: string, after: string | undefined, limit: number): Promise<Page<DeliveryRecord, string>> {
    return fillPage({
      limit,
      after,
      positions: async (from, count) =>
        (await this.redis.eval(DELIVERIES_AFTER, 1, this.subDeliveriesKey(subscriptionId), from ?? '', count)) as string[],
      load: async (ids) =>
        (ids.length ? await this.redis.mget(ids.map(this.deliveryKey)) : []).map((r) =>
          r === null ? undefined : (JSON.parse(r) as DeliveryRecord),
        ),
    });
  }

  /**
   * Merge a patch (and an attempt, when given) into a delivery. One job works on a delivery at a
   * time, so this read-merge-write has no concurrent writer.
   */
  async updateDelivery(id: string, patch: Partial<DeliveryRecord>, attempt?: DeliveryAttempt): Promise<DeliveryRecord | undefined> {
    const current = await this.getDelivery(id);
    if (!current) return undefined;
    const log = attempt ? [...current.log, attempt].slice(-ATTEMPTS_KEPT) : current.log;
    const next: DeliveryRecord = { ...current, ...patch, log, updatedAt: new Date().toISOString() };
    await this.redis.set(this.deliveryKey(id), JSON.stringify(next), 'EX', DELIVERY_TTL_SECONDS);
    return next;
  }
}

/** Where a subscription stands in the tenant's list: its creation time, then its id. */
const subscriptionOrderKey = (s: Pick<WebhookSubscription, 'createdAt' | 'id'>) => `${s.createdAt}|${s.id}`;
