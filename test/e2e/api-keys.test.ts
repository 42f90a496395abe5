import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, startTestService, type TestService } from '../harness.js';

/** API keys: listed (never shown again), revoked at once, rotated; only the admin key manages them. */
describe('API key management', () => {
  let service: TestService;
  const admin = (path: string, method = 'GET') =>
    fetch(`${service.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const asTenant = (key: string) => fetch(`${service.url}/v1/runs/run_none`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'publish' });
  });
  afterAll(async () => service?.stop());

  it('lists, revokes and rotates keys, and each change takes effect on the next request', async () => {
    const { tenantId, key: first } = await createTenant(service);
    const second = (await (await admin(`/v1/tenants/${tenantId}/keys`, 'POST')).json()) as { key: string; keyId: string };

    const listed = (await (await admin(`/v1/tenants/${tenantId}/keys`)).json()) as { keys: Array<{ keyId: string; hint: string }> };
    expect(listed.keys).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(first);
    expect(JSON.stringify(listed)).not.toContain(second.key);
    const firstId = listed.keys.find((k) => k.keyId !== second.keyId)!.keyId;

    // A valid key reaches the route (404 for a run that does not exist); a revoked one is 401.
    expect((await asTenant(first)).status).toBe(404);
    expect((await admin(`/v1/tenants/${tenantId}/keys/${firstId}`, 'DELETE')).status).toBe(204);
    expect((await asTenant(first)).status).toBe(401);
    expect((await asTenant(second.key)).status).toBe(404);

    const rotated = await admin(`/v1/tenants/${tenantId}/keys/${second.keyId}/rotate`, 'POST');
    expect(rotated.status).toBe(201);
    const replacement = (await rotated.json()) as { key: string; keyId: string };
    expect((await asTenant(second.key)).status).toBe(401);
    expect((await asTenant(replacement.key)).status).toBe(404);
    const after = (await (await admin(`/v1/tenants/${tenantId}/keys`)).json()) as { keys: Array<{ keyId: string }> };
    expect(after.keys.map((k) => k.keyId)).toEqual([replacement.keyId]);

    expect((await admin(`/v1/tenants/${tenantId}/keys/${firstId}`, 'DELETE')).status).toBe(404);
    const notAdmin = await fetch(`${service.url}/v1/tenants/${tenantId}/keys`, { headers: { authorization: `Bearer ${replacement.key}` } });
    expect(notAdmin.status).toBe(403);
  });
});
