import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTenant, startTestService, type TestService } from '../harness.js';

/**
 * The operator's path in a real browser: the board refuses a bare navigation, the sign-in page
 * trades the admin key for the session cookie, and the board then shows every queue. A tenant key
 * typed into the same page is refused.
 */
describe('queue admin view in a browser', () => {
  let service: TestService;
  let browser: Browser;

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'publish' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('signs in at /admin/login and shows every queue', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const bare = await page.goto(`${service.url}/admin/queues`);
    expect(bare?.status()).toBe(401);

    await page.goto(`${service.url}/admin/login`);
    await page.fill('#key', ADMIN_KEY);
    await Promise.all([page.waitForURL(`${service.url}/admin/queues`), page.click('button[type=submit]')]);
    // The cookie is there but out of the page's reach (HttpOnly).
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'pipeline_admin', path: '/admin', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie')).toBe('');
    for (const queue of ['inference', 'render', 'publish']) {
      await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    await context.close();
  });

  it('refuses a tenant key at the sign-in page and sets no cookie', async () => {
    const { key } = await createTenant(service);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${service.url}/admin/login`);
    await page.fill('#key', key);
    await page.click('button[type=submit]');
    await page.waitForFunction("document.getElementById('error').textContent !== ''");
    expect(await page.textContent('#error')).toContain('admin API key');
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });
});
