import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../bin/service.js';
import { createStorage } from '../../cdn/create-storage.js';
import { tenantPrefix } from '../../cdn/keys.js';
import { ADMIN_KEY, createTenant, fixture, localServiceEnv, REDIS_URL, startTestService, upload, type TestService } from '../harness.js';

/**
 * `DELETE /v1/tenants/:id` is durable: the request revokes the keys and hands the removal to a
 * queued job, so it ends even when no worker runs at that moment (here: an API-only process) and
 * finishes when a publish worker (a process started later) takes the job.
 */
describe('tenant deletion as a queued job', () => {
  let api: TestService;
  let worker: Service | undefined;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  beforeAll(async () => {
    api = await startTestService({ WORKER_QUEUES: '' });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.stop();
  });

  const objectsOf = async (tenantId: string) => {
    const keys: string[] = [];
    for await (const key of createStorage(api.config.cdn).list(tenantPrefix(tenantId))) keys.push(key);
    return keys;
  };
  const deletionOf = async (tenantId: string) => {
    const res = await fetch(`${api.url}/v1/tenants/${tenantId}/deletion`, { headers: admin });
    return { status: res.status, body: (await res.json()) as { tenantId?: string; state?: string; code?: string } };
  };

  it('revokes the keys within the request and answers 202 before anything is removed', async () => {
    const { tenantId, key } = await createTenant(api, 'Leaving');
    expect((await upload(api, key, await readFile(fixture('HappyFish.jpg')), { type: 'image/jpeg' })).status).toBe(202);
    expect((await objectsOf(tenantId)).length).toBeGreaterThan(0);

    const res = await fetch(`${api.url}/v1/tenants/${tenantId}`, { method: 'DELETE', headers: admin });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/tenants/${tenantId}/deletion`);
    expect(await res.json()).toMatchObject({ tenantId, state: 'queued' });
    // Access ends at once; a new key cannot be issued to a tenant being deleted.
    expect((await fetch(`${api.url}/v1/assets`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    expect((await fetch(`${api.url}/v1/tenants/${tenantId}/keys`, { method: 'POST', headers: admin })).status).toBe(404);
    // No publish worker runs: the removal waits in the queue, nothing lost, the state says so.
    expect((await objectsOf(tenantId)).length).toBeGreaterThan(0);
    expect(await deletionOf(tenantId)).toMatchObject({ status: 200, body: { state: 'queued' } });
    // A repeated DELETE while it waits adds no second job and still answers 202.
    expect((await fetch(`${api.url}/v1/tenants/${tenantId}`, { method: 'DELETE', headers: admin })).status).toBe(202);

    // A publish worker started later (another process in production) finishes it.
    worker = await startService({
      env: { ...localServiceEnv(api.dataDir), REDIS_URL, QUEUE_PREFIX: api.prefix },
      api: false,
      workerQueues: ['publish'],
    });
    const deadline = Date.now() + 15_000;
    let state = await deletionOf(tenantId);
    while (state.body.state !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = await deletionOf(tenantId);
    }
    expect(state.body.state).toBe('completed');
    expect(await objectsOf(tenantId)).toEqual([]);
    expect((await fetch(`${api.url}/v1/tenants/${tenantId}/keys`, { headers: admin })).status).toBe(404);
    // Deleted: the same DELETE answers 204 (idempotent).
    expect((await fetch(`${api.url}/v1/tenants/${tenantId}`, { method: 'DELETE', headers: admin })).status).toBe(204);
  }, 60_000);

  it('the deletion status is for the admin key only, and 404 for a tenant never deleted', async () => {
    const { tenantId, key } = await createTenant(api, 'Staying');
    expect((await deletionOf(tenantId)).status).toBe(404);
    expect((await fetch(`${api.url}/v1/tenants/${tenantId}/deletion`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);
  });
});
