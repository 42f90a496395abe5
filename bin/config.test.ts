import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.js';
import { startService } from './service.js';

describe('loadConfig: the public URL of local-disk storage', () => {
  const base = { DATA_DIR: '/tmp/data' };

  it.each(['0.0.0.0', '::', '10.1.2.3', 'api.internal'])(
    'refuses HOST=%s with fs storage and no PUBLIC_BASE_URL, naming the variable',
    (host) => {
      expect(() => loadConfig({ ...base, HOST: host })).toThrow(/PUBLIC_BASE_URL: required when HOST is not loopback/);
    },
  );

  it.each(['127.0.0.1', 'localhost', '::1', '127.0.0.2'])('keeps the localhost default on a loopback HOST=%s', (host) => {
    expect(loadConfig({ ...base, HOST: host }).cdn.publicBaseUrl).toBeUndefined();
  });

  it('starts on 0.0.0.0 once PUBLIC_BASE_URL says where clients fetch files, or with a bucket', () => {
    expect(loadConfig({ ...base, HOST: '0.0.0.0', PUBLIC_BASE_URL: 'https://img.example.com/files' }).cdn.publicBaseUrl).toBe(
      'https://img.example.com/files',
    );
    expect(loadConfig({ HOST: '0.0.0.0', S3_BUCKET: 'images' }).cdn.driver).toBe('s3');
  });
});

describe('loadConfig: every folder read once, in one place', () => {
  // The catalog lane and the connectors were read apart from it (by the batch lane and the
  // service), so a bad value there escaped the one validated configuration.
  it.each([
    ['MAX_BATCH_ITEMS', 'many'],
    ['WEBHOOK_ATTEMPTS', '-1'],
    ['INBOX_PREFIX', 'In Box'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: '/tmp/data', [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('carries the catalog lane and the connectors', () => {
    const config = loadConfig({ DATA_DIR: '/tmp/data', MAX_BATCH_ITEMS: '7', INBOX_PREFIX: 'drop' });
    expect(config.batch.maxItems).toBe(7);
    expect(config.connectors.inbox?.folder).toBe('drop');
  });
});

describe('LOG_LEVEL', () => {
  // Child processes and the command line read it raw (`env.LOG_LEVEL ?? 'info'`), skipping the
  // validation the service applied: it is read by one validated loader in every process.
  it('is read only through logLevelFromEnv (lib/logger.ts)', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const root = path.resolve(import.meta.dirname, '..');
    const raw: string[] = [];
    for (const dir of ['api', 'workers', 'models', 'templates', 'cdn', 'lib', 'bin']) {
      for (const file of await readdir(path.join(root, dir), { recursive: true })) {
        if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
        const text = await readFile(path.join(root, dir, file), 'utf8');
        if (/\.LOG_LEVEL\b/.test(text) && `${dir}/${file}` !== 'lib/logger.ts') raw.push(`${dir}/${file}`);
      }
    }
    expect(raw).toEqual([]);
  });
});

describe('startService: S3 on AWS with no region anywhere', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('refuses to boot with the configuration error, before anything else starts', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    // A Redis nobody listens on: the region check comes first, so it is the reason given.
    const env = { S3_BUCKET: 'images', REDIS_URL: 'redis://127.0.0.1:1', ADMIN_API_KEY: 'adm_test_key_of_at_least_24_chars' };
    await expect(startService({ env, workerQueues: [] })).rejects.toThrow(
      /Invalid storage\/CDN configuration:[\s\S]*S3_REGION[\s\S]*AWS_REGION \/ AWS_DEFAULT_REGION[\s\S]*profile/,
    );
  });
});
