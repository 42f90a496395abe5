import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineClient, type PipelineClient, type Recipe } from '../../client/src/index.js';
import { openProductTable, startReceiver } from '../../examples/webhooks-to-sqlite.js';
import { createTenant, fixture, startTestService, type TestService } from '../harness.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const RECIPE: Recipe = { steps: [{ name: 'render', options: { widths: [32], formats: ['webp', 'jpeg'] } }] };

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The connector examples as merchants run them, against a real service: the two scripts as child
 * processes (tsx, the way their headers say), the webhook receiver in this process on loopback.
 */
describe('connector examples', () => {
  let service: TestService;
  let key: string;
  let client: PipelineClient;
  let work: string;
  /** A shop's image host for the CSV export's URLs. */
  let images: Server;
  let imagesUrl = '';

  const script = (name: string, args: string[]) =>
    run(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'examples', name), ...args], {
      cwd: work,
      env: { ...process.env, PIPELINE_URL: service.url, PIPELINE_API_KEY: key },
    });
  const jsonLines = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'examples-'));
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#1d3557' } })
      .png()
      .toBuffer();
    images = createServer((req, res) =>
      req.url === '/mug.png' ? res.writeHead(200, { 'content-type': 'image/png' }).end(png) : res.writeHead(404).end(),
    );
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imagesUrl = `http://127.0.0.1:${(images.address() as { port: number }).port}`;
    service = await startTestService({
      // The shop's image host and the webhook receiver are on loopback: allowed for this service only.
      URL_FETCH_ALLOW_LOOPBACK: 'true',
      WORKER_QUEUES: 'render,publish,batch',
      SANDBOXED_PROCESSORS: 'false',
      BATCH_CPU_NICE: '0',
      WEBHOOK_BACKOFF_MS: '20',
    });
    ({ key } = await createTenant(service));
    client = createPipelineClient({ baseUrl: service.url, apiKey: key });
    await writeFile(path.join(work, 'recipe.json'), JSON.stringify(RECIPE));
  });
  afterAll(async () => {
    await service?.stop();
    await new Promise((resolve) => images?.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('push-folder: every photo uploaded under the SKU its file name gives, other files left alone', async () => {
    const folder = path.join(work, 'photos');
    await run('mkdir', ['-p', folder]);
    await copyFile(new URL(fixture('HappyFish.jpg')), path.join(folder, 'FISH-001.jpg'));
    await sharp({ create: { width: 36, height: 36, channels: 3, background: '#e63946' } })
      .png()
      .toFile(path.join(folder, 'MUG-RED.png'));
    await writeFile(path.join(folder, 'notes.txt'), 'not a photo');
    const { stdout } = await script('push-folder.ts', [folder, '--wait', '--recipe', 'recipe.json']);
    const lines = jsonLines(stdout);
    expect(lines.map((l) => [l.file, l.sku, l.state])).toEqual([
      ['FISH-001.jpg', 'FISH-001', 'completed'],
      ['MUG-RED.png', 'MUG-RED', 'completed'],
    ]);
    for (const line of lines) {
      expect(line.manifestUrl).toMatch(/^http/);
      expect((await client.getAsset(String(line.assetId))).sku).toBe(line.sku);
    }
  });

  it('rerender-catalog: a shop CSV export becomes a batch; rows without SKU or image are skipped', async () => {
    const csv = [
      'Handle,Title,Variant SKU,Image Src',
      `mug,"Mug, ""classic"" blue",MUG-BLUE,${imagesUrl}/mug.png`,
      `mug,,,${imagesUrl}/mug.png`,
      'plate,Plate,PLATE-1,',
    ].join('\n');
    await writeFile(path.join(work, 'products.csv'), `${csv}\n`);
    const { stdout } = await script('rerender-catalog.ts', ['products.csv', '--recipe', 'recipe.json']);
    const lines = jsonLines(stdout);
    expect(lines.map((l) => [l.line, l.sku, l.state])).toEqual([[1, 'MUG-BLUE', 'completed']]);
    expect(lines[0]!.manifestUrl).toMatch(/^http/);
  });

  describe('webhooks-to-sqlite', () => {
    let receiver: Server;
    let db: DatabaseSync;
    let secret = '';
    let receiverUrl = '';
    beforeAll(async () => {
      db = openProductTable(path.join(work, 'products.db'));
      // The secret is known only after subscribing; the receiver reads it per request.
      receiver = await startReceiver({
        db,
        client,
        get secret() {
          return secret;
        },
        port: 0,
        host: '127.0.0.1',
      });
      receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
      const { data } = await client.api.POST('/v1/webhooks', {
        body: { url: `${receiverUrl}/hooks`, events: ['run.completed', 'run.failed'] },
      });
      secret = data!.secret;
    });
    afterAll(async () => {
      await new Promise((resolve) => receiver?.close(resolve));
      db?.close();
    });

    const row = (sku: string) => db.prepare('SELECT * FROM products WHERE sku = ?').get(sku) as Record<string, string | null> | undefined;

    it("records each SKU's published URLs once, however often a delivery comes", async () => {
      // Bytes of its own: the same bytes as an earlier upload would reuse that asset and its SKU.
      const photo = await sharp({ create: { width: 44, height: 33, channels: 3, background: '#2a9d8f' } })
        .jpeg()
        .toBuffer();
      const { run } = await client.uploadAsset(photo, { filename: 'hook.jpg', sku: 'FISH-HOOK', recipe: RECIPE });
      const published = await until('the product row', () => row('FISH-HOOK'));
      expect(published).toMatchObject({ state: 'published', error: null });
      expect(published.image_url).toMatch(/\.jpg$/);
      expect(published.srcset_webp).toMatch(/32w$/);
      expect(published.picture).toContain('<picture');
      expect((await fetch(published.image_url!)).status).toBe(200);
      expect(published.manifest_url).toBe((await client.getRun(run.id)).outputs?.manifestUrl);

      // A replay sends the same webhook-id again: acknowledged, not applied twice.
      const webhooks = (await client.api.GET('/v1/webhooks')).data!.webhooks;
      const deliveries = (await client.api.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id: webhooks[0]!.id } } })).data!
        .deliveries;
      const delivered = deliveries.find((d) => d.type === 'run.completed')!;
      const updatedAt = published.updated_at;
      await client.api.POST('/v1/webhooks/deliveries/{id}/replay', { params: { path: { id: delivered.id } } });
      await until('the replay delivered', async () => {
        const again = (
          await client.api.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id: webhooks[0]!.id } } })
        ).data!.deliveries.find((d) => d.id === delivered.id)!;
        return again.replays === 1 && again.state === 'delivered' ? again : undefined;
      });
      expect(row('FISH-HOOK')!.updated_at).toBe(updatedAt);
      expect(db.prepare('SELECT COUNT(*) AS n FROM products').get()).toEqual({ n: 1 });
    });

    it('refuses a delivery whose signature does not verify', async () => {
      const body = JSON.stringify({ id: 'evt_forged', type: 'run.completed', data: { assetId: 'x' } });
      const res = await fetch(`${receiverUrl}/hooks`, {
        method: 'POST',
        headers: { 'webhook-id': 'evt_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body,
      });
      expect(res.status).toBe(401);
      expect(db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE webhook_id = ?').get('evt_forged')).toEqual({ n: 0 });
    });
  });
});
