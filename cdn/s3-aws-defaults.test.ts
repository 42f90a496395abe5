import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startS3rver, type S3rverHandle } from '../test/s3rver.js';
import { AppError } from '../lib/errors.js';
import { loadCdnConfig } from './config.js';
import { createStorage } from './create-storage.js';

/** What a recording proxy saw of one request. */
interface Seen {
  method: string;
  url: string;
  /** The SigV4 credential scope's region (`Credential=<key>/<date>/<region>/s3/aws4_request`). */
  region: string | undefined;
}

/** An HTTP proxy in front of s3rver that notes each request's method, URL and signing region. */
async function startRecordingProxy(target: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(req.headers.authorization ?? '');
    seen.push({ method: req.method!, url: req.url!, region: scope?.[1] });
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('S3 storage follows the AWS SDK defaults', () => {
  let s3: S3rverHandle;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let bucket: string;

  beforeAll(async () => {
    s3 = await startS3rver();
    bucket = await s3.bucket();
    proxy = await startRecordingProxy(s3.endpoint);
  });
  afterAll(async () => {
    await proxy?.close();
    await s3?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    proxy.seen.length = 0;
  });

  /** The service's own path: variables through the storage config, then createStorage. */
  const storageFrom = (env: Record<string, string>) => {
    const { S3_REGION: _ignored, ...withoutRegion } = s3.serviceEnv(bucket, proxy.url);
    return createStorage(loadCdnConfig({ ...withoutRegion, ...env }));
  };
  const regionsSigned = () => [...new Set(proxy.seen.map((s) => s.region))];

  it('signs for the region AWS_REGION names when S3_REGION is unset (ECS, Fargate, Lambda set it)', async () => {
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const storage = storageFrom({});
    await storage.put('region/a.txt', Buffer.from('a'), { contentType: 'text/plain' });
    expect((await storage.get('region/a.txt'))?.toString()).toBe('a');
    expect(regionsSigned()).toEqual(['eu-central-1']);
  });

  it('keeps S3_REGION as an explicit override of AWS_REGION', async () => {
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const storage = storageFrom({ S3_REGION: 'ap-southeast-2' });
    await storage.ping();
    expect(regionsSigned()).toEqual(['ap-southeast-2']);
  });

  it('signs for us-east-1 on a custom endpoint when no region is set anywhere (MinIO, s3rver)', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    const storage = storageFrom({});
    await storage.ping();
    expect(regionsSigned()).toEqual(['us-east-1']);
  });

  it('streams a large put as a multipart upload, holding a few parts, not the whole object', async () => {
    const parts = Array.from({ length: 12 * 16 }, () => randomBytes(64 * 1024)); // 12 MiB in 64 KiB reads
    const storage = storageFrom({ S3_REGION: 'us-east-1' });
    await storage.put('large/streamed.bin', Readable.from(parts), { contentType: 'application/octet-stream', metadata: { run: 'r1' } });
    const requests = proxy.seen.map((s) => `${s.method} ${s.url.replace(/uploadId=[^&]+/, 'uploadId=…')}`);
    expect(requests.filter((r) => r.startsWith('POST') && r.includes('?uploads'))).toHaveLength(1);
    expect(requests.filter((r) => r.startsWith('PUT') && r.includes('partNumber='))).toHaveLength(3);
    expect(requests.filter((r) => r.startsWith('POST') && r.includes('uploadId='))).toHaveLength(1);
    expect((await storage.get('large/streamed.bin'))?.equals(Buffer.concat(parts))).toBe(true);
    expect(await storage.head('large/streamed.bin')).toMatchObject({
      contentType: 'application/octet-stream',
      size: 12 << 20,
      metadata: { run: 'r1' },
    });
  });

  it("aborts the multipart upload and rejects with the body's own error when a large stream fails", async () => {
    const failure = new AppError('UPLOAD_TOO_LARGE', 'too big');
    async function* body() {
      for (let i = 0; i < 7 * 16; i++) yield randomBytes(64 * 1024); // past the first 5 MiB part
      throw failure;
    }
    const storage = storageFrom({ S3_REGION: 'us-east-1' });
    await expect(storage.put('large/failed.bin', Readable.from(body()), { contentType: 'application/octet-stream' })).rejects.toBe(failure);
    expect(proxy.seen.some((s) => s.method === 'DELETE' && s.url.includes('uploadId='))).toBe(true);
    expect(await storage.head('large/failed.bin')).toBeUndefined();
  });
});

describe('the S3 region setting', () => {
  it('is unset by default, so the SDK chain decides', () => {
    expect(loadCdnConfig({ S3_BUCKET: 'my-bucket' }).s3.region).toBeUndefined();
    expect(loadCdnConfig({ S3_BUCKET: 'my-bucket', S3_REGION: 'eu-west-1' }).s3.region).toBe('eu-west-1');
  });
});
