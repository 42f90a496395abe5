import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../cdn/fs-storage.js';
import { createLogger } from '../lib/logger.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { createInbox, type InboxDeps } from './inbox.js';

/**
 * The claim's release, against real Redis and a real data folder. Ingest is a stand-in (the
 * admission path is tested end to end in test/e2e/inbox.test.ts); here it plays the slow ingest
 * during which this instance's claim expires and another instance takes the object.
 */
describe('bucket inbox claims', () => {
  const prefix = `test-${randomUUID()}`;
  const tenantId = 'tn_claims';
  let redis: Redis;
  let root: string;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    root = await mkdtemp(path.join(tmpdir(), 'inbox-claims-'));
    await redis.set(`${prefix}:tenant:${tenantId}`, JSON.stringify({ id: tenantId }));
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(`${prefix}:*`);
    await rm(root, { recursive: true, force: true });
  });

  it('releases only its own claim: one that expired and was re-taken by another instance stays', async () => {
    const storage = fsStorage({ root });
    await storage.put(`t/${tenantId}/inbox/fish.jpg`, Buffer.from('bytes'), { contentType: 'image/jpeg' });
    const claimKeys = () => redis.keys(`${prefix}:inbox:claim:*`);
    const deps: InboxDeps = {
      storage,
      maxUploadBytes: 1024,
      redis,
      prefix,
      folder: 'inbox',
      pollMs: 3_600_000,
      logger: createLogger('silent'),
      ingest: async () => {
        // Mid-ingest, our claim lapses (expiry, as after CLAIM_MS) and another instance claims the object.
        const [claim] = await claimKeys();
        await redis.set(claim!, 'another-instance', 'PX', 60_000);
        return { asset: { id: 'as_1' }, run: { id: 'run_1' } };
      },
    };
    const inbox = createInbox(deps, { autostart: false });
    try {
      const report = await inbox.pollOnce();
      expect(report.ingested).toHaveLength(1);
    } finally {
      await inbox.close();
    }
    const [claim] = await claimKeys();
    expect(claim, "the other instance's claim is still there").toBeDefined();
    expect(await redis.get(claim!)).toBe('another-instance');
  });

  it('releases its own claim when it is done', async () => {
    const storage = fsStorage({ root });
    await storage.put(`t/${tenantId}/inbox/other.jpg`, Buffer.from('other bytes'), { contentType: 'image/jpeg' });
    const before = new Set(await redis.keys(`${prefix}:inbox:claim:*`));
    const inbox = createInbox(
      {
        storage,
        maxUploadBytes: 1024,
        redis,
        prefix,
        folder: 'inbox',
        pollMs: 3_600_000,
        logger: createLogger('silent'),
        ingest: async () => ({ asset: { id: 'as_2' }, run: { id: 'run_2' } }),
      },
      { autostart: false },
    );
    try {
      expect((await inbox.pollOnce()).ingested).toHaveLength(1);
    } finally {
      await inbox.close();
    }
    expect(new Set(await redis.keys(`${prefix}:inbox:claim:*`))).toEqual(before);
  });
});
