/**
 * The main command: the HTTP API and every worker kind in one process, on embedded defaults
 * (local-disk storage under ./data when no bucket is configured, Redis at REDIS_URL).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onShutdownSignals } from './shutdown.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  const env = { ...process.env };
  let adminKeyNote: string | undefined;
  if (!env.ADMIN_API_KEY) {
    // First run on a laptop: make an admin key once and keep it beside the data, so the README's
    // curl commands work without any setup.
    const file = path.join(env.DATA_DIR ?? './data', 'admin-key');
    env.ADMIN_API_KEY = await readFile(file, 'utf8')
      .then((s) => s.trim())
      .catch(async () => {
        const key = `adm_${randomBytes(24).toString('base64url')}`;
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, `${key}\n`, { mode: 0o600 });
        return key;
      });
    adminKeyNote = `ADMIN_API_KEY is not set; using the key in ${file}`;
  }
  const service = await startService({ env });
  // Before "ready": a supervisor may signal as soon as it reads that line, and without a handler
  // the signal killed the server outright, with no graceful close (seen in the npm start test).
  onShutdownSignals(service.close, service.logger, service.config.workers.shutdownTimeoutMs);
  if (adminKeyNote) service.logger.warn(adminKeyNote);
  service.logger.info(
    { url: service.url, storage: service.config.cdn.driver, queues: service.config.workers.queues },
    'product image pipeline ready',
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
