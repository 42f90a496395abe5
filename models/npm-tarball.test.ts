import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPackageFiles } from './npm-tarball.js';

/**
 * A local npm registry (metadata + tarball over HTTP) whose `dist.integrity` each test sets: the
 * download is checked against it as Subresource Integrity says, every hash of the strongest
 * algorithm considered, not only the first one listed.
 */
describe('fetchPackageFiles integrity', () => {
  let server: Server;
  let registry = '';
  let work: string;
  let tarball: Buffer;
  let integrity = '';
  const digest = (algorithm: string, bytes: Buffer) => `${algorithm}-${createHash(algorithm).update(bytes).digest('base64')}`;
  const wrong = (algorithm: string) => digest(algorithm, Buffer.from('other bytes'));

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'npm-tarball-'));
    await mkdir(path.join(work, 'src', 'package'), { recursive: true });
    await writeFile(path.join(work, 'src', 'package', 'model.bin'), 'weights');
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: path.join(work, 'src') }, ['package']))
      chunks.push(Buffer.from(chunk as Uint8Array));
    tarball = Buffer.concat(chunks);
    server = createServer((req, res) => {
      if (req.url === '/pkg.tgz') return void res.writeHead(200, { 'content-length': tarball.length }).end(tarball);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ dist: { tarball: `${registry}/pkg.tgz`, integrity } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  const fetchWith = async (value: string) => {
    integrity = value;
    const into = await mkdtemp(path.join(work, 'into-'));
    const result = await fetchPackageFiles({ registry, name: 'pkg', version: '1.0.0', files: ['model.bin'], into, timeoutMs: 10_000 }).then(
      (dir) => ({ dir }),
      (err: unknown) => ({ err: err as Error }),
    );
    return { ...result, left: await readdir(into) };
  };

  it('accepts a tarball matching its sha512', async () => {
    const got = await fetchWith(digest('sha512', tarball));
    expect('dir' in got && (await readFile(path.join(got.dir, 'model.bin'), 'utf8'))).toBe('weights');
  });

  it('refuses a tarball whose weaker first hash matches but whose stronger second does not, leaving nothing behind', async () => {
    const got = await fetchWith(`${digest('sha256', tarball)} ${wrong('sha512')}`);
    expect('err' in got && got.err.message).toMatch(/integrity mismatch/);
    expect(got.left).toEqual([]);
  });

  it('accepts a tarball whose first (weaker) hash does not match when the strongest one does', async () => {
    const got = await fetchWith(`${wrong('sha256')} ${digest('sha512', tarball)}`);
    expect('dir' in got).toBe(true);
  });

  it('refuses an integrity string with no supported algorithm', async () => {
    const got = await fetchWith(`sha1-${createHash('sha1').update(tarball).digest('base64')}`);
    expect('err' in got && got.err.message).toMatch(/unsupported integrity string/);
  });
});
