import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, startTestService, type TestService } from '../harness.js';

/** The queue admin view: behind the admin key (Bearer) or an admin session cookie, nothing else. */
describe('queue admin view at /admin/queues', () => {
  let service: TestService;
  let tenantKey: string;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${service.url}${path}`, { headers, redirect: 'manual' });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'publish' });
    tenantKey = (await createTenant(service)).key;
  });
  afterAll(async () => service?.stop());

  it('refuses the board, its API and its assets without credentials (401, JSON error)', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/queue/render']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a tenant key (403) and a forged or malformed session', async () => {
    const asTenant = await get('/admin/queues/api/queues', bearer(tenantKey));
    expect(asTenant.status).toBe(403);
    expect(((await asTenant.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await fetch(`${service.url}/admin/session`, { method: 'POST', headers: bearer(tenantKey) })).status).toBe(403);
    expect(
      (await get('/admin/queues/api/queues', { cookie: 'pipeline_admin=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }))
        .status,
    ).toBe(401);
    expect((await get('/admin/queues/api/queues', { authorization: 'Basic abc' })).status).toBe(401);
  });

  it('shows every queue to the admin key', async () => {
    const page = await get('/admin/queues', bearer(ADMIN_KEY));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // The UI resolves its assets and API calls against the mount point.
    expect(await page.text()).toContain('<base href="/admin/queues/" />');

    const api = await get('/admin/queues/api/queues', bearer(ADMIN_KEY));
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['batch', 'inference', 'publish', 'render']);
  });

  it('lets a browser in with the session cookie from POST /admin/session, and out again', async () => {
    const session = await fetch(`${service.url}/admin/session`, { method: 'POST', headers: bearer(ADMIN_KEY) });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { expiresAt: string }).expiresAt).toMatch(/^\d{4}-/);
    const setCookie = session.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^pipeline_admin=v2\.\d+\.[\w-]{22}\.[\w-]{43}; Path=\/admin; Max-Age=900; HttpOnly; SameSite=Strict$/);
    // Plain http here: no Secure flag, or the browser would never send it back.
    expect(setCookie).not.toMatch(/Secure/);
    const cookie = setCookie.split(';')[0]!;
    // Behind a TLS-terminating proxy the cookie is Secure.
    const proxied = await fetch(`${service.url}/admin/session`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_KEY), 'x-forwarded-proto': 'https' },
    });
    expect(proxied.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);

    const page = await get('/admin/queues', { cookie });
    expect(page.status).toBe(200);
    const api = await get('/admin/queues/api/queues', { cookie });
    expect(api.status).toBe(200);
    // The board's UI asset is served to the session too.
    const html = await (await get('/admin/queues', { cookie })).text();
    const asset = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    expect((await get(`/admin/queues/${asset}`, { cookie })).status).toBe(200);
    expect((await get(`/admin/queues/${asset}`)).status).toBe(401);

    // A state-changing call with the cookie from a foreign origin is refused.
    const foreign = await fetch(`${service.url}/admin/queues/api/queues/render/pause`, {
      method: 'PUT',
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);

    const out = await fetch(`${service.url}/admin/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^pipeline_admin=; Path=\/admin; Max-Age=0;/);
    // Revoked on the server: the cookie a browser (or a thief) kept no longer opens anything.
    expect((await get('/admin/queues', { cookie })).status).toBe(401);
    expect((await get('/admin/queues/api/queues', { cookie })).status).toBe(401);
    // Other sessions live on; signing out without a cookie is harmless.
    const other = (await fetch(`${service.url}/admin/session`, { method: 'POST', headers: bearer(ADMIN_KEY) })).headers
      .get('set-cookie')!
      .split(';')[0]!;
    expect((await fetch(`${service.url}/admin/session`, { method: 'DELETE' })).status).toBe(204);
    expect((await get('/admin/queues/api/queues', { cookie: other })).status).toBe(200);
  });

  it('serves a sign-in page that needs no key to load', async () => {
    const res = await get('/admin/login');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("fetch('/admin/session'");
  });
});
