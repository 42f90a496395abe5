import { constants, crc32, createDeflate, createDeflateRaw } from 'node:zlib';
import sharp from 'sharp';

/** Hand-made hostile inputs that encoders will not produce on purpose. */

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid 8-bit greyscale PNG of `size`×`size` black pixels. Deflate squeezes each all-zero row
 * about 1000:1, so 20000×20000 (400 million pixels, 400 MB decoded) is a file of about 400 KB:
 * a decompression bomb that only a check of the header's dimensions stops cheaply.
 */
export async function blackPng(size: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(size + 1); // filter byte 0, then zeros
  for (let y = 0; y < size; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(parts)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A GIF89a of `frames` 1×1 frames, a few bytes each: thousands of frames in a few KB. */
export function manyFrameGif(frames: number): Buffer {
  const header = Buffer.from('GIF89a', 'latin1');
  // 1×1 screen, global colour table of 2 entries (black, white).
  const screen = Buffer.from([1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
  const loop = Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]);
  const frame = Buffer.from([
    0x21,
    0xf9,
    0x04,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00, // graphic control: 10 ms
    0x2c,
    0,
    0,
    0,
    0,
    1,
    0,
    1,
    0,
    0x00, // image descriptor 1×1
    0x02,
    0x02,
    0x44,
    0x01,
    0x00, // LZW min code size 2, one data sub-block, terminator
  ]);
  return Buffer.concat([header, screen, loop, ...Array.from({ length: frames }, () => frame), Buffer.from([0x3b])]);
}

/**
 * A real HEIC file whose header (its `ispe` property) claims `width` x `height`: a decompression
 * bomb in a few kilobytes, which must be refused from the header without decoding.
 */
export function heicClaimingSize(heic: Buffer, width: number, height: number): Buffer {
  const bomb = Buffer.from(heic);
  const at = bomb.indexOf('ispe', 0, 'latin1');
  if (at < 0) throw new Error('no ispe box in this HEIC');
  // Box type, then 4 bytes of version and flags, then width and height.
  bomb.writeUInt32BE(width, at + 8);
  bomb.writeUInt32BE(height, at + 12);
  return bomb;
}

/**
 * A 300×200 JPEG (left half red, right half blue) stored sideways: EXIF Orientation 6 says
 * "rotate 90° clockwise to display", so it displays 200×300 with red on top. It carries GPS.
 */
export async function sidewaysJpegWithGps(): Promise<Buffer> {
  const half = (colour: string) =>
    sharp({ create: { width: 150, height: 200, channels: 3, background: colour } })
      .png()
      .toBuffer();
  return (
    sharp({ create: { width: 300, height: 200, channels: 3, background: '#000' } })
      .composite([
        { input: await half('#ff0000'), left: 0, top: 0 },
        { input: await half('#0000ff'), left: 150, top: 0 },
      ])
      .jpeg({ quality: 95 })
      // Orientation goes through withMetadata: sharp writes its own Orientation tag over IFD0's.
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'TestCam' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2964/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4032/100' },
      })
      .toBuffer()
  );
}

/** Raw deflate of `length` zero bytes in non-final blocks that may follow any history: repeatable. */
async function zeroBlocks(length: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  deflate.write(Buffer.alloc(length));
  await new Promise<void>((resolve) => deflate.flush(constants.Z_FULL_FLUSH, () => resolve()));
  deflate.destroy();
  return Buffer.concat(parts);
}

/**
 * A valid 16-bit RGBA PNG of 20000×`height` zeros (3.2 GB of samples at 20000 rows) in about 3 MB,
 * built in milliseconds: one deflate piece for 64 rows, repeated, then a final empty block and the
 * Adler-32 of all-zero data (a = 1, b = length mod 65521). Every decoder must inflate and convert
 * every sample, which takes seconds on any machine: the input for the decode time limit.
 */
export async function slowDecodePng(height = 20000): Promise<Buffer> {
  const width = 20000;
  const size = height;
  const rowBytes = 1 + width * 8;
  const rowsPerPiece = 64;
  const piece = await zeroBlocks(rowBytes * rowsPerPiece);
  const total = rowBytes * size;
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0);
  const zlibStream = Buffer.concat([
    Buffer.from([0x78, 0xda]),
    ...Array.from({ length: (size / rowsPerPiece) | 0 }, () => piece),
    await zeroBlocks(rowBytes * (size % rowsPerPiece)),
    Buffer.from([0x03, 0x00]), // final, empty, fixed-Huffman block
    adler,
  ]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlibStream),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
