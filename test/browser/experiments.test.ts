import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant, cutPoints } from '../../lib/experiment-assignment.js';
import { createTenant, fixture, jsonApi, startTestService, waitForBatch, waitForRun, type TestService } from '../harness.js';
import { launchChromium, SCREENSHOTS } from './chromium.js';

const render = { name: 'render', options: { widths: [48], formats: ['webp'] } };

/** The dashboard's experiment page in chromium: the list, the results table and the lift plot. */
describe('experiment results in the dashboard', () => {
  let service: TestService;
  let key: string;
  let browser: Browser;
  const api = jsonApi(
    () => service,
    () => key,
  );

  beforeAll(async () => {
    browser = await launchChromium();
    service = await startTestService();
    ({ key } = await createTenant(service, 'Experiment shop'));
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('lists the experiment and plots each variant against the control with its counts', async () => {
    const form = new FormData();
    form.append('recipe', JSON.stringify({ steps: [render] }));
    form.append('sku', 'TEA-1');
    form.append(
      'file',
      new Blob([
        await sharp(await readFile(fixture('coffee.png')))
          .resize(64)
          .png()
          .toBuffer(),
      ]),
      'tea.png',
    );
    const uploaded = (await (
      await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
    ).json()) as {
      run: { id: string };
    };
    await waitForRun(service, key, uploaded.run.id);
    const variants = [
      { id: 'plain', control: true, recipe: { steps: [render] } },
      { id: 'scene', recipe: { steps: [{ name: 'generate', options: { template: 'brand-colour' } }, render] } },
    ];
    const experiment = (await (await api('POST', '/v1/experiments', { name: 'Scene test', skus: ['TEA-1'], variants })).json()) as {
      id: string;
      batchId: string;
    };
    await waitForBatch(service, key, experiment.batchId);
    // 40 visitors see it; those assigned to "scene" and every third of the rest convert.
    const cuts = cutPoints([1, 1]);
    const expected = { plain: { visitors: 0, converters: 0 }, scene: { visitors: 0, converters: 0 } };
    for (let i = 0; i < 40; i++) {
      const visitorId = `shopper-${i}`;
      const variant = variants[assignVariant(experiment.id, visitorId, cuts)!]!.id as 'plain' | 'scene';
      await fetch(`${service.url}/v1/experiments/${experiment.id}/impressions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ visitorId }),
      });
      expected[variant].visitors += 1;
      if (variant === 'scene' || i % 3 === 0) {
        await api('POST', `/v1/experiments/${experiment.id}/conversions`, { visitorId, event: `order-${i}` });
        expected[variant].converters += 1;
      }
    }

    const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
    await page.goto(`${service.url}/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Experiments' }).click();
    await page.getByRole('button', { name: 'Scene test' }).click();
    await page.locator('svg.lift-plot circle[data-variant="scene"]').waitFor();
    for (const id of ['plain', 'scene'] as const) {
      const cells = await page.locator(`table.results tr[data-variant="${id}"] td`).allTextContents();
      expect(cells[1]).toBe(String(expected[id].visitors));
      expect(cells[3]).toBe(String(expected[id].converters));
    }
    expect(await page.locator('svg.lift-plot circle').count()).toBe(2);
    expect(await page.locator('.verdict').getAttribute('data-verdict')).toBe('insufficient-data');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'experiment-results.png'), fullPage: true });
  }, 120_000);
});
