import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { scanKeys, type RedisConnection } from '../lib/redis.js';
import { isValidId, tenantPrefix } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/**
 * The bucket inbox: drop an image under `t/<tenant>/<folder>/` in the storage (fs or S3) and it
 * becomes an asset and a run, exactly as if uploaded. Each object is ingested once however many
 * service instances poll and however often they restart: an instance claims an object in Redis
 * before ingesting it, records it as done before moving it, and a done object is only moved.
 *
 * Afterwards the object moves to `t/<tenant>/<folder>-processed/<path>`; one that is refused
 * (not an image, too large, corrupt) to `t/<tenant>/<folder>-failed/<path>`, next to a
 * `<path>.error.json` that says why.
 */
export interface InboxDeps {
  storage: ObjectStorage;
  /** MAX_UPLOAD_BYTES: a larger object is refused before it is read. */
  maxUploadBytes: number;
  /**
   * Admit one object as an upload is admitted (the API's `ingestOriginal`, handed in by the
   * composition root: workers/ does not import api/).
   */
  ingest: (input: { tenantId: string; bytes: Buffer; filename: string }) => Promise<{ asset: { id: string }; run: { id: string } }>;
  redis: RedisConnection;
  /** The deployment's Redis key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** Folder under each tenant's prefix (INBOX_PREFIX). */
  folder: string;
  pollMs: number;
  logger: Logger;
}

export interface InboxReport {
  ingested: Array<{ key: string; assetId: string; runId: string }>;
  refused: Array<{ key: string; code: string }>;
  /** Objects another instance holds, or left for the next poll after a fault. */
  skipped: string[];
}

export interface Inbox {
  /** One pass over every tenant's inbox. Polls never overlap within an instance. */
  pollOnce(): Promise<InboxReport>;
  /** Stop polling; waits for a pass in progress. Idempotent. */
  close(): Promise<void>;
}

/** An instance that dies mid-object frees its claim after this long. */
const CLAIM_MS = 10 * 60 * 1000;
/** Done markers outlive any plausible retry of a move. */
const DONE_SECONDS = 30 * 24 * 3600;
/**
 * Release a claim only while it is still ours: past CLAIM_MS it may have expired and been taken by
 * another instance, whose claim a plain DEL would remove (and a third instance would ingest the
 * object again). Compare and delete in one step, as the Redis docs' lock release does.
 */
const RELEASE_CLAIM = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export function createInbox(deps: InboxDeps, options: { autostart?: boolean } = {}): Inbox {
  const { redis, prefix, folder, logger } = deps;
  const { storage } = deps;
  const owner = randomUUID();
  let running: Promise<InboxReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function tenantIds(): Promise<string[]> {
    const ids: string[] = [];
    // Tenant records are `<prefix>:tenant:<id>` (api/tenants.ts); `tenant-keys:` does not match.
    // QUEUE_PREFIX holds no glob characters (a hash tag's braces are literal in MATCH).
    for (const key of await scanKeys(redis, `${prefix}:tenant:*`)) {
      const id = key.slice(`${prefix}:tenant:`.length);
      if (isValidId(id)) ids.push(id);
    }
    return ids.sort();
  }

  /** What identifies one object: its key, size and write time (a new upload under the same key is new). */
  const identity = (key: string, size: number, modified?: Date) =>
    createHash('sha256')
      .update(`${key}\n${size}\n${modified?.getTime() ?? ''}`)
      .digest('hex');

  async function move(from: string, to: string, extra?: { key: string; body: Buffer }): Promise<void> {
    if (!(await storage.copy(from, to))) return;
    if (extra) await storage.put(extra.key, extra.body, { contentType: 'application/json' });
    await storage.delete(from);
  }

  async function handle(tenantId: string, key: string, report: InboxReport): Promise<void> {
    const inboxRoot = `${tenantPrefix(tenantId)}${folder}/`;
    const relative = key.slice(inboxRoot.length);
    const processedKey = `${tenantPrefix(tenantId)}${folder}-processed/${relative}`;
    const failedKey = `${tenantPrefix(tenantId)}${folder}-failed/${relative}`;
    const meta = await storage.head(key);
    if (!meta) return;
    const id = identity(key, meta.size, meta.lastModified);
    const claimKey = `${prefix}:inbox:claim:${id}`;
    const doneKey = `${prefix}:inbox:done:${id}`;
    if ((await redis.set(claimKey, owner, 'PX', CLAIM_MS, 'NX')) !== 'OK') {
      report.skipped.push(key);
      return;
    }
    try {
      const done = await redis.get(doneKey);
      if (done) {
        // Ingested before, but not moved (a crash or a storage fault): finish the move only.
        const outcome = JSON.parse(done) as { refused?: boolean };
        await move(key, outcome.refused ? failedKey : processedKey);
        return;
      }
      try {
        const maxBytes = deps.maxUploadBytes;
        if (meta.size > maxBytes)
          throw new AppError('UPLOAD_TOO_LARGE', `The object exceeds the limit of ${maxBytes} bytes.`, { maxBytes });
        const bytes = await storage.get(key);
        if (!bytes) return;
        const { asset, run } = await deps.ingest({ tenantId, bytes, filename: path.posix.basename(key) });
        await redis.set(doneKey, JSON.stringify({ assetId: asset.id, runId: run.id }), 'EX', DONE_SECONDS);
        report.ingested.push({ key, assetId: asset.id, runId: run.id });
        logger.info({ tenantId, key, assetId: asset.id, runId: run.id }, 'inbox object ingested');
        await move(key, processedKey);
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        // Bad input: it will not get better. Record why next to it, out of the inbox.
        await redis.set(doneKey, JSON.stringify({ refused: true, code: err.code }), 'EX', DONE_SECONDS);
        report.refused.push({ key, code: err.code });
        logger.warn({ tenantId, key, code: err.code }, 'inbox object refused');
        const why = Buffer.from(JSON.stringify({ ...err.toJSON(), key, at: new Date().toISOString() }, null, 2));
        await move(key, failedKey, { key: `${failedKey}.error.json`, body: why });
      }
    } finally {
      await redis.eval(RELEASE_CLAIM, 1, claimKey, owner).catch(() => undefined);
    }
  }

  async function pass(): Promise<InboxReport> {
    const report: InboxReport = { ingested: [], refused: [], skipped: [] };
    for (const tenantId of await tenantIds()) {
      const keys: string[] = [];
      for await (const key of storage.list(`${tenantPrefix(tenantId)}${folder}/`)) keys.push(key);
      for (const key of keys) {
        if (closed) return report;
        try {
          await handle(tenantId, key, report);
        } catch (err) {
          // A fault on our side (storage, Redis): the object stays and the next poll tries again.
          report.skipped.push(key);
          logger.error({ err, tenantId, key }, 'inbox object not ingested; will retry');
        }
      }
    }
    return report;
  }

  const pollOnce = () => (running ??= pass().finally(() => (running = undefined)));

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      pollOnce()
        .catch((err: unknown) => logger.error({ err }, 'inbox poll failed'))
        .finally(schedule);
    }, deps.pollMs);
    timer.unref();
  };
  if (options.autostart ?? true) schedule();

  let closing: Promise<void> | undefined;
  return {
    pollOnce,
    close: () =>
      (closing ??= (async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        await running?.catch(() => undefined);
      })()),
  };
}
