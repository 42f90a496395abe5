import { describe, expect, it } from 'vitest';
import { loadCdnConfig } from './config.js';
import { encodeKeyPath, publicUrlFor } from './public-url.js';

const key = "t/tn_1/r/abc/640 x+y&z'(1)é#?.webp";
const encoded = 't/tn_1/r/abc/640%20x%2By%26z%27%281%29%C3%A9%23%3F.webp';

describe('publicUrlFor', () => {
  it('encodes each segment but keeps the slashes', () => {
    expect(encodeKeyPath(key)).toBe(encoded);
    expect(decodeURIComponent(encodeKeyPath(key))).toBe(key);
  });

  it('prefers PUBLIC_BASE_URL', () => {
    const cfg = loadCdnConfig({ PUBLIC_BASE_URL: 'https://cdn.example.com/img/', S3_BUCKET: 'bucket' });
    expect(publicUrlFor(cfg)(key)).toBe(`https://cdn.example.com/img/${encoded}`);
  });

  it('points the fs driver at the API file route', () => {
    const cfg = loadCdnConfig({ STORAGE_DRIVER: 'fs' });
    expect(publicUrlFor(cfg, 8080)('t/a/b.jpg')).toBe('http://localhost:8080/files/t/a/b.jpg');
    expect(publicUrlFor(cfg)('t/a/b.jpg')).toBe('http://localhost:3000/files/t/a/b.jpg');
  });

  it('builds S3 path-style URLs on a custom endpoint', () => {
    const cfg = loadCdnConfig({ S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'http://127.0.0.1:4568/', S3_FORCE_PATH_STYLE: 'true' });
    expect(publicUrlFor(cfg)(key)).toBe(`http://127.0.0.1:4568/my-bucket/${encoded}`);
  });

  it('builds AWS virtual-host and path-style URLs', () => {
    const vhost = loadCdnConfig({ S3_BUCKET: 'my-bucket', S3_REGION: 'eu-west-1' });
    expect(publicUrlFor(vhost)('t/a/b.jpg')).toBe('https://my-bucket.s3.eu-west-1.amazonaws.com/t/a/b.jpg');
    const path = loadCdnConfig({ S3_BUCKET: 'my-bucket', S3_REGION: 'eu-west-1', S3_FORCE_PATH_STYLE: '1' });
    expect(publicUrlFor(path)('t/a/b.jpg')).toBe('https://s3.eu-west-1.amazonaws.com/my-bucket/t/a/b.jpg');
  });

  it('names the region AWS_REGION gives when S3_REGION is unset, else the global host', () => {
    const fromAws = loadCdnConfig({ S3_BUCKET: 'my-bucket', AWS_REGION: 'eu-central-1' });
    expect(publicUrlFor(fromAws)('t/a/b.jpg')).toBe('https://my-bucket.s3.eu-central-1.amazonaws.com/t/a/b.jpg');
    const override = loadCdnConfig({ S3_BUCKET: 'my-bucket', AWS_REGION: 'eu-central-1', S3_REGION: 'us-west-2' });
    expect(publicUrlFor(override)('t/a/b.jpg')).toBe('https://my-bucket.s3.us-west-2.amazonaws.com/t/a/b.jpg');
    const none = loadCdnConfig({ S3_BUCKET: 'my-bucket' });
    expect(publicUrlFor(none)('t/a/b.jpg')).toBe('https://my-bucket.s3.amazonaws.com/t/a/b.jpg');
  });

  it('puts the bucket in the host of a custom virtual-host endpoint', () => {
    const cfg = loadCdnConfig({ S3_BUCKET: 'media', S3_ENDPOINT: 'https://r2.example.com' });
    expect(publicUrlFor(cfg)('t/a/b.jpg')).toBe('https://media.r2.example.com/t/a/b.jpg');
  });
});
