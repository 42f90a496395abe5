/**
 * What one stable-URL write costs the fs driver, by the way publish makes it: a put of the bytes
 * at hand (data file and sidecar written), a copy with new metadata (a link and a new sidecar: a
 * rendition to its `latest/` URL), or a copy as it is (two links: the SKU's copy of `latest/`). CPU and wall time
 * per object, three rounds with the ways interleaved, in the system temp folder (TMPDIR picks it:
 * run it once on disk and once on tmpfs to tell the disk from the code).
 *
 *   npm run bench:storage-writes            (TMPDIR=<folder> COUNT=300)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fsStorage } from '../cdn/fs-storage.js';

const COUNT = Number(process.env.COUNT ?? 300);
const root = await mkdtemp(path.join(tmpdir(), 'bench-storage-writes-'));
const storage = fsStorage({ root });
const body = Buffer.alloc(5_000, 7);
const immutable = { contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable', metadata: { 'surrogate-key': 't a' } };
const mutable = { contentType: 'image/webp', cacheControl: 'public, max-age=60', metadata: { 'surrogate-key': 't a a/latest sku/A' } };

const ways = {
  // The bytes at hand, as the catalog lane had them from its step child: no read.
  put: async (_i: number, to: string) => storage.put(to, body, mutable),
  'copy, new metadata': async (i: number, to: string) => void (await storage.copy(`t/r/${i}.webp`, to, mutable)),
  'copy as it is': async (i: number, to: string) => void (await storage.copy(`t/r/${i}.webp`, to)),
} as const;
type Way = keyof typeof ways;

try {
  for (let i = 0; i < COUNT; i++) await storage.put(`t/r/${i}.webp`, body, immutable);
  const spent = new Map<Way, { cpuMs: number; wallMs: number }>();
  for (let round = 1; round <= 3; round++) {
    for (const way of Object.keys(ways) as Way[]) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      // Nine at a time, as publish writes an item's stable URLs.
      for (let b = 0; b < COUNT; b += 9) {
        await Promise.all(
          Array.from({ length: Math.min(9, COUNT - b) }, (_, j) =>
            ways[way](b + j, `t/${round}/${way.replaceAll(/\W+/g, '-')}/${b + j}.webp`),
          ),
        );
      }
      const wallMs = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const sum = spent.get(way) ?? { cpuMs: 0, wallMs: 0 };
      spent.set(way, { cpuMs: sum.cpuMs + cpuMs, wallMs: sum.wallMs + wallMs });
    }
  }
  const put = spent.get('put')!;
  console.log(`fs driver, ${COUNT} objects of 5 KiB per way and round, 3 rounds, under ${root}`);
  console.log('| way | CPU ms per object | wall ms per object | CPU against put |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [way, s] of spent) {
    const n = 3 * COUNT;
    console.log(`| ${way} | ${(s.cpuMs / n).toFixed(3)} | ${(s.wallMs / n).toFixed(3)} | ${(s.cpuMs / put.cpuMs).toFixed(2)}x |`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
