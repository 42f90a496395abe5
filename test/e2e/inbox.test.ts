import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetStore } from '../../records/asset-store.js';
import { ingestInto } from '../../api/routes/ingest.js';
import { TemplateStore } from '../../records/template-store.js';
import { createStorage } from '../../cdn/create-storage.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { createLogger } from '../../lib/logger.js';
import { createInbox, type Inbox, type InboxDeps } from '../../workers/inbox.js';
import { createQueues, type Queues } from '../../workers/queues.js';
import { RunStore } from '../../workers/run-store.js';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { countKeys, createTenant, fixture, REDIS_URL, startTestService, type TestService } from '../harness.js';

const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
};

/** The same behaviour on both storage drivers, against the real thing (local disk, s3rver). */
function describeInbox(driver: 'fs' | 's3') {
  describe(`bucket inbox on ${driver} storage`, () => {
    let s3: S3rverHandle | undefined;
    let service: TestService;
    let tenant: { tenantId: string; key: string };
    let storage: ObjectStorage;
    let redis: Redis;
    let queues: Queues;
    const extra: Inbox[] = [];
    let fish: Buffer;

    /** Another instance of the poller, as a second process would run it. */
    const anotherInbox = (store: ObjectStorage = storage) => {
      const deps: InboxDeps = {
        storage: store,
        maxUploadBytes: service.config.api.maxUploadBytes,
        ingest: ingestInto({
          config: service.config,
          storage: store,
          assets: new AssetStore(store, redis, service.prefix),
          runs: new RunStore(redis, service.prefix),
          queues,
          templates: new TemplateStore(redis, service.prefix, 200),
        }),
        redis,
        prefix: service.prefix,
        folder: 'inbox',
        pollMs: 3_600_000,
        logger: createLogger('silent'),
      };
      const inbox = createInbox(deps, { autostart: false });
      extra.push(inbox);
      return inbox;
    };
    const inboxKey = (name: string) => `t/${tenant.tenantId}/inbox/${name}`;
    const runIdsOf = async (assetId: string) =>
      (
        (await (await fetch(`${service.url}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${tenant.key}` } })).json()) as {
          runIds: string[];
        }
      ).runIds;

    beforeAll(async () => {
      fish = await readFile(fixture('HappyFish.jpg'));
      const env: Record<string, string> = { INBOX_PREFIX: 'inbox', INBOX_POLL_SECONDS: '3600', WORKER_QUEUES: 'publish' };
      if (driver === 's3') {
        s3 = await startS3rver();
        Object.assign(env, s3.serviceEnv(await s3.bucket()));
      }
      service = await startTestService(env);
      tenant = await createTenant(service);
      storage = createStorage(service.config.cdn);
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      queues = createQueues(redis, service.prefix);
    });
    afterAll(async () => {
      await Promise.all(extra.map((i) => i.close()));
      await queues?.close();
      redis?.disconnect();
      await service?.stop();
      await s3?.stop();
    });

    it('ingests a new object once across two instances, then moves it out of the inbox', async () => {
      expect(service.inbox, 'the service runs an inbox when INBOX_PREFIX is set').toBeDefined();
      await storage.put(inboxKey('shoots/fish.jpg'), fish, { contentType: 'application/octet-stream' });
      const runsBefore = await countKeys(`${service.prefix}:run:*`);
      const [a, b] = await Promise.all([service.inbox!.pollOnce(), anotherInbox().pollOnce()]);
      const ingested = [...a.ingested, ...b.ingested];
      expect(ingested).toHaveLength(1);
      expect(await countKeys(`${service.prefix}:run:*`)).toBe(runsBefore + 1);
      expect(await runIdsOf(ingested[0]!.assetId)).toEqual([ingested[0]!.runId]);
      expect(await collect(storage.list(`t/${tenant.tenantId}/inbox/`))).toEqual([]);
      expect((await storage.get(`t/${tenant.tenantId}/inbox-processed/shoots/fish.jpg`))?.equals(fish)).toBe(true);
      // A later poll finds nothing new.
      expect((await anotherInbox().pollOnce()).ingested).toEqual([]);
      expect(await countKeys(`${service.prefix}:run:*`)).toBe(runsBefore + 1);
    });

    it('after a crash between ingest and move, a restarted instance only finishes the move', async () => {
      await storage.put(inboxKey('retry.jpg'), Buffer.concat([fish]), { contentType: 'image/jpeg' });
      // The first instance ingests, then loses storage before it can delete the inbox object.
      const failingDelete: ObjectStorage = {
        name: storage.name,
        put: (...a) => storage.put(...a),
        copy: (...a) => storage.copy(...a),
        get: (k) => storage.get(k),
        getStream: (k) => storage.getStream(k),
        head: (k) => storage.head(k),
        list: (p) => storage.list(p),
        ping: () => storage.ping(),
        delete: async () => {
          throw new Error('storage went away');
        },
      };
      const runsBefore = await countKeys(`${service.prefix}:run:*`);
      const first = await anotherInbox(failingDelete).pollOnce();
      expect(first.ingested).toHaveLength(1);
      expect(await collect(storage.list(inboxKey('retry.jpg')))).toEqual([inboxKey('retry.jpg')]);
      const restarted = await anotherInbox().pollOnce();
      expect(restarted.ingested).toEqual([]);
      expect(await countKeys(`${service.prefix}:run:*`)).toBe(runsBefore + 1);
      expect(await collect(storage.list(inboxKey('retry.jpg')))).toEqual([]);
      expect(await storage.head(`t/${tenant.tenantId}/inbox-processed/retry.jpg`)).toBeDefined();
    });

    it('moves an object that is not an image to the failed folder with the reason', async () => {
      await storage.put(inboxKey('notes.txt'), Buffer.from('not an image'), { contentType: 'text/plain' });
      const report = await service.inbox!.pollOnce();
      expect(report.refused).toEqual([{ key: inboxKey('notes.txt'), code: 'UNSUPPORTED_MEDIA_TYPE' }]);
      expect(await collect(storage.list(`t/${tenant.tenantId}/inbox/`))).toEqual([]);
      const why = JSON.parse((await storage.get(`t/${tenant.tenantId}/inbox-failed/notes.txt.error.json`))!.toString()) as {
        error: { code: string };
      };
      expect(why.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect((await storage.get(`t/${tenant.tenantId}/inbox-failed/notes.txt`))?.toString()).toBe('not an image');
    });
  });
}

describeInbox('fs');
describeInbox('s3');
