/**
 * Upload bodies for the load benchmark: real photos, each made unique per request by a JPEG
 * comment segment, so every upload is new work for the render queue (the same bytes twice would
 * find their rendition set already written and cost nothing).
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Photo {
  name: string;
  bytes: Buffer;
}

/** JPEG photos from the shared fixture set, or the repo's own test fixtures when it is absent. */
export async function loadPhotos(repoRoot: string, only?: string): Promise<Photo[]> {
  const shared = resolve(repoRoot, '../shared/fixtures/photos');
  const dir = existsSync(shared) ? shared : resolve(repoRoot, 'test/fixtures');
  const names = (await readdir(dir)).filter((n) => /\.jpe?g$/i.test(n) && (!only || n === only)).sort();
  if (names.length === 0) throw new Error(`no JPEG photos in ${dir}`);
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })));
}

/** The photo with a COM segment right after SOI: other bytes, same pixels, decodes the same. */
export function uniqueJpeg(jpeg: Buffer, tag: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const payload = Buffer.from(tag, 'latin1');
  const header = Buffer.from([0xff, 0xfe, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

const BOUNDARY = '----pipeline-bench-boundary';

/** A multipart/form-data body with one `file` part, and its content type. */
export function multipartUpload(bytes: Buffer, filename: string): { body: Buffer; contentType: string } {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}
