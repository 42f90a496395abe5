import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { S3rverHandle } from '../s3rver.js';

/**
 * Read back every object in the bucket, straight from the server (not through the fault proxy),
 * and check that each is whole: originals hash to the sha256 in their key, images decode to their
 * last byte, JSON parses, publication markers are empty, and every rendition has the byte length its rendition set recorded.
 * Returns the problems found (none when the bucket is sound) and how many objects were checked.
 *
 * With `referencedOnly`, rendition objects that no set marker or manifest lists yet are skipped:
 * s3rver writes a PUT's body in place, so a PUT cut mid-body leaves a short object until the retry
 * rewrites it, where S3, MinIO and R2 store nothing unless the whole `Content-Length` arrived.
 * Such an object sits at an unpublished content-addressed key; nothing points at it.
 * With `keys`, those objects are read instead of listing the bucket (s3rver's paged listing
 * answers InternalError past the first page).
 */
export async function checkBucketIsWhole(
  s3: S3rverHandle,
  bucket: string,
  options: { referencedOnly?: boolean; keys?: string[] } = {},
): Promise<{ objects: number; problems: string[]; skipped: string[] }> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const problems: string[] = [];
  const bodies = new Map<string, Buffer>();
  const sizeMismatch = new Map<string, string>();
  try {
    if (options.keys) {
      for (const key of options.keys) {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        bodies.set(key, Buffer.from(await res.Body!.transformToByteArray()));
      }
    }
    let token: string | undefined;
    if (!options.keys)
      do {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
        for (const { Key: key, Size: size } of listed.Contents ?? []) {
          const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key! }));
          const bytes = Buffer.from(await res.Body!.transformToByteArray());
          // Compared below, after unreferenced objects are set aside: s3rver rewrites in place.
          if (bytes.length !== size) sizeMismatch.set(key!, `${key}: listed ${size} bytes, read ${bytes.length}`);
          bodies.set(key!, bytes);
        }
        token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
      } while (token);
  } finally {
    client.destroy();
  }
  const expectedLength = new Map<string, number>();
  for (const [key, bytes] of bodies) {
    if (!key.endsWith('.json')) continue;
    try {
      for (const r of (JSON.parse(bytes.toString('utf8')) as { renditions?: Array<{ key: string; bytes: number }> }).renditions ?? [])
        expectedLength.set(r.key, r.bytes);
    } catch {
      // reported below
    }
  }
  const skipped: string[] = [];
  for (const [key, bytes] of bodies) {
    if (options.referencedOnly && key.includes('/r/') && !key.endsWith('.json') && !expectedLength.has(key)) {
      skipped.push(key);
      continue;
    }
    const mismatch = sizeMismatch.get(key);
    if (mismatch) problems.push(mismatch);
    if (key.endsWith('.json')) {
      try {
        JSON.parse(bytes.toString('utf8'));
      } catch {
        problems.push(`${key}: not whole JSON`);
      }
      continue;
    }
    // Publication markers (`assets/<id>/published/set/<id>`, `…/sku/<sku>`) are empty by design.
    if (/\/assets\/[^/]+\/published\//.test(key)) {
      if (bytes.length !== 0) problems.push(`${key}: a publication marker holds ${bytes.length} bytes`);
      continue;
    }
    const original = /\/originals\/([0-9a-f]{64})\./.exec(key);
    if (original && createHash('sha256').update(bytes).digest('hex') !== original[1]) problems.push(`${key}: sha256 differs from its key`);
    try {
      await sharp(bytes, { failOn: 'error' }).raw().toBuffer();
    } catch (err) {
      problems.push(`${key}: does not decode (${(err as Error).message})`);
    }
  }
  for (const [key, length] of expectedLength) {
    const bytes = bodies.get(key);
    if (!bytes) problems.push(`${key}: listed in a manifest but missing`);
    else if (bytes.length !== length) problems.push(`${key}: ${bytes.length} bytes, its set says ${length}`);
  }
  return { objects: bodies.size, problems, skipped };
}
