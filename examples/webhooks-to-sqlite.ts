/**
 * Receive the pipeline's webhooks and keep a product table (SQLite, node:sqlite) up to date with
 * each SKU's published image URLs.
 *
 *   PIPELINE_URL=… PIPELINE_API_KEY=… PIPELINE_WEBHOOK_SECRET=whsec_… PORT=8787 \
 *     npx tsx examples/webhooks-to-sqlite.ts products.db
 *
 * Subscribe its public address first (POST /v1/webhooks, events run.completed and run.failed) and
 * keep the secret that answer returns. Each delivery is verified over its raw body, recorded once
 * by its `webhook-id` (retries and replays repeat it), and answered 204; a bad signature gets 401.
 */
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { createPipelineClient, parseWebhook, WebhookVerificationError, type PipelineClient } from '../client/src/index.js';

/** The part of a manifest (GET /v1/assets/:id → manifest) a product page needs. */
interface ManifestPart {
  fallback?: { url: string };
  srcset?: Record<string, string>;
  picture?: string;
}

export function openProductTable(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec(`CREATE TABLE IF NOT EXISTS products (
      sku TEXT PRIMARY KEY, asset_id TEXT NOT NULL, state TEXT NOT NULL, image_url TEXT, srcset_webp TEXT,
      picture TEXT, manifest_url TEXT, error TEXT, updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS deliveries (webhook_id TEXT PRIMARY KEY, received_at TEXT NOT NULL);`);
  return db;
}

/** Apply one verified event to the table. */
async function apply(db: DatabaseSync, client: PipelineClient, event: { type: string; data: Record<string, unknown> }): Promise<void> {
  if (event.type !== 'run.completed' && event.type !== 'run.failed') return;
  const asset = await client.getAsset(String(event.data.assetId));
  if (!asset.sku) return; // an upload without a SKU belongs to no product
  const manifest = (asset.manifest ?? {}) as ManifestPart;
  const completed = event.type === 'run.completed';
  db.prepare(
    `INSERT INTO products (sku, asset_id, state, image_url, srcset_webp, picture, manifest_url, error, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (sku) DO UPDATE SET asset_id = excluded.asset_id, state = excluded.state, error = excluded.error, updated_at = excluded.updated_at,
        image_url = COALESCE(excluded.image_url, image_url), srcset_webp = COALESCE(excluded.srcset_webp, srcset_webp),
        picture = COALESCE(excluded.picture, picture), manifest_url = COALESCE(excluded.manifest_url, manifest_url)`,
  ).run(
    asset.sku,
    asset.id,
    completed ? 'published' : 'failed',
    completed ? (manifest.fallback?.url ?? null) : null,
    completed ? (manifest.srcset?.webp ?? null) : null,
    completed ? (manifest.picture ?? null) : null,
    completed ? ((event.data.manifestUrl as string | undefined) ?? null) : null,
    completed ? null : JSON.stringify(event.data.error ?? null),
    new Date().toISOString(),
  );
}

/** The receiver: verify, de-duplicate by webhook-id, apply, answer. */
export function startReceiver(options: {
  db: DatabaseSync;
  client: PipelineClient;
  secret: string;
  port?: number;
  host?: string;
}): Promise<Server> {
  const { db, client } = options;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const event = parseWebhook(options.secret, req.headers, Buffer.concat(chunks));
          const id = String(req.headers['webhook-id']);
          const fresh =
            db.prepare('INSERT OR IGNORE INTO deliveries (webhook_id, received_at) VALUES (?, ?)').run(id, new Date().toISOString())
              .changes > 0;
          try {
            if (fresh) await apply(db, client, event);
          } catch (err) {
            // Not applied: forget the delivery so the sender's retry applies it.
            db.prepare('DELETE FROM deliveries WHERE webhook_id = ?').run(id);
            throw err;
          }
          res.writeHead(204).end();
        } catch (err) {
          res.writeHead(err instanceof WebhookVerificationError ? 401 : 500).end(err instanceof Error ? err.message : '');
        }
      })();
    });
  });
  return new Promise((resolve) => server.listen(options.port ?? 8787, options.host ?? '0.0.0.0', () => resolve(server)));
}

async function main() {
  const { PIPELINE_URL, PIPELINE_API_KEY, PIPELINE_WEBHOOK_SECRET, PORT } = process.env;
  if (!PIPELINE_URL || !PIPELINE_API_KEY || !PIPELINE_WEBHOOK_SECRET)
    throw new Error('usage: PIPELINE_URL=… PIPELINE_API_KEY=… PIPELINE_WEBHOOK_SECRET=… webhooks-to-sqlite.ts [products.db]');
  const db = openProductTable(process.argv[2] ?? 'products.db');
  const server = await startReceiver({
    db,
    client: createPipelineClient({ baseUrl: PIPELINE_URL, apiKey: PIPELINE_API_KEY }),
    secret: PIPELINE_WEBHOOK_SECRET,
    port: Number(PORT ?? 8787),
  });
  process.stderr.write(`receiving webhooks on port ${(server.address() as { port: number }).port}\n`);
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) await main();
