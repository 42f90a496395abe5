/**
 * Peak memory (RSS) of a process putting N large objects into S3 at once: the service's streamed
 * put (cdn/s3-storage.ts, lib-storage multipart, 5 MiB parts) against the buffered put it replaced
 * (the whole stream read into memory, then one PutObject), kept here as the baseline. Each mode
 * runs in a fresh child process so its peak is its own; s3rver runs in the parent (its own memory
 * is not counted). Each put reads a spooled 50 MiB file, as an upload's original is stored.
 *
 *   npx tsx bench/s3-put-memory.ts            # PUTS=8 SIZE_MIB=50 ROUNDS=1 to change
 *
 * Prints a markdown table; not a timed test.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const MODES = ['buffered', 'streamed'] as const;
type Mode = (typeof MODES)[number];

interface Result {
  mode: Mode;
  idleRssMb: number;
  peakRssMb: number;
  seconds: number;
}

interface ChildEnv {
  endpoint: string;
  bucket: string;
  file: string;
  puts: number;
  rounds: number;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const rssMb = () => Math.round(process.memoryUsage.rss() / 1024 / 1024);
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The put this project made before lib-storage: read the stream whole, then one PutObject. */
async function bufferedPut(client: S3Client, bucket: string, key: string, body: Readable): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  const bytes = Buffer.concat(chunks);
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentType: 'image/jpeg' }),
  );
}

async function runChild(mode: Mode, env: ChildEnv): Promise<Result> {
  const { s3Storage } = await import('../cdn/s3-storage.js');
  const client = new S3Client({
    endpoint: env.endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const storage = s3Storage({ bucket: env.bucket, region: 'us-east-1', endpoint: env.endpoint, forcePathStyle: true, credentials });
  const put = (key: string) =>
    mode === 'buffered'
      ? bufferedPut(client, env.bucket, key, createReadStream(env.file))
      : storage.put(key, createReadStream(env.file), { contentType: 'image/jpeg' });
  // Warm the client and modules once, so the idle figure includes them.
  await storage.ping();
  const idleRssMb = rssMb();
  const started = performance.now();
  for (let round = 0; round < env.rounds; round++) {
    await Promise.all(Array.from({ length: env.puts }, (_, i) => put(`bench/${mode}/${round}-${i}.jpg`)));
  }
  return { mode, idleRssMb, peakRssMb: peakRssMb(), seconds: (performance.now() - started) / 1000 };
}

const self = fileURLToPath(import.meta.url);
const childMode = process.argv[2] as Mode | undefined;

if (childMode) {
  const result = await runChild(childMode, JSON.parse(process.env.S3_PUT_BENCH!) as ChildEnv);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  const puts = Number(process.env.PUTS ?? 8);
  const sizeMiB = Number(process.env.SIZE_MIB ?? 50);
  const rounds = Number(process.env.ROUNDS ?? 1);
  const { startS3rver } = await import('../test/s3rver.js');
  const s3 = await startS3rver();
  const dir = await mkdtemp(path.join(tmpdir(), 's3-put-bench-'));
  try {
    const file = path.join(dir, 'upload.bin');
    await writeFile(file, randomBytes(sizeMiB * 1024 * 1024));
    const results: Result[] = [];
    for (const mode of MODES) {
      const env: ChildEnv = { endpoint: s3.endpoint, bucket: await s3.bucket(), file, puts, rounds };
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', self, mode], {
        env: { ...process.env, S3_PUT_BENCH: JSON.stringify(env) },
        maxBuffer: 1 << 20,
      });
      results.push(JSON.parse(stdout.trim().split('\n').pop()!) as Result);
    }
    const [buffered, streamed] = results as [Result, Result];
    const above = (r: Result) => r.peakRssMb - r.idleRssMb;
    console.log(`${puts} concurrent puts of ${sizeMiB} MiB, ${rounds} round(s), s3rver on loopback, Node ${process.version}\n`);
    console.log('| put | idle RSS | peak RSS | peak above idle | seconds |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const r of results)
      console.log(`| ${r.mode} | ${r.idleRssMb} MB | ${r.peakRssMb} MB | ${above(r)} MB | ${r.seconds.toFixed(1)} |`);
    console.log(
      `\npeak RSS streamed/buffered: ${(streamed.peakRssMb / buffered.peakRssMb).toFixed(2)}; above idle: ${(above(streamed) / above(buffered)).toFixed(2)}`,
    );
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
