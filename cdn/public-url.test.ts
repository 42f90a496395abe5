import { describe, expect, it } from 'vitest';
import { loadCdnConfig } from './config.js';
import { encodeKeyPath, onDemandBaseFor, publicUrlFor } from './public-url.js';

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

describe('onDemandBaseFor', () => {
  it('prefers ON_DEMAND_BASE_URL, then the origin of PUBLIC_BASE_URL, then the API itself on the fs driver', () => {
    const both = loadCdnConfig({ ON_DEMAND_BASE_URL: 'https://img.example.com/', PUBLIC_BASE_URL: 'https://cdn.example.com/files/' });
    expect(onDemandBaseFor(both)).toBe('https://img.example.com');
    expect(onDemandBaseFor(loadCdnConfig({ PUBLIC_BASE_URL: 'https://cdn.example.com:8443/files/', S3_BUCKET: 'bucket' }))).toBe(
      'https://cdn.example.com:8443',
    );
    expect(onDemandBaseFor(loadCdnConfig({ STORAGE_DRIVER: 'fs' }), 8080)).toBe('http://localhost:8080');
  });

  it('offers none on a bare bucket (its URL serves no /img/), and refuses a base that is not http(s)', () => {
    expect(onDemandBaseFor(loadCdnConfig({ S3_BUCKET: 'bucket' }))).toBeUndefined();
    expect(() => loadCdnConfig({ ON_DEMAND_BASE_URL: 'ftp://img.example.com' })).toThrow(/ON_DEMAND_BASE_URL/);
  });
});
