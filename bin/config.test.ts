import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig: the public URL of local-disk storage', () => {
  const base = { DATA_DIR: '/tmp/data' };

  it.each(['0.0.0.0', '::', '10.1.2.3', 'api.internal'])('refuses HOST=%s with fs storage and no PUBLIC_BASE_URL, naming the variable', (host) => {
    expect(() => loadConfig({ ...base, HOST: host })).toThrow(/PUBLIC_BASE_URL: required when HOST is not loopback/);
  });

  it.each(['127.0.0.1', 'localhost', '::1', '127.0.0.2'])('keeps the localhost default on a loopback HOST=%s', (host) => {
    expect(loadConfig({ ...base, HOST: host }).cdn.publicBaseUrl).toBeUndefined();
  });

  it('starts on 0.0.0.0 once PUBLIC_BASE_URL says where clients fetch files, or with a bucket', () => {
    expect(loadConfig({ ...base, HOST: '0.0.0.0', PUBLIC_BASE_URL: 'https://img.example.com/files' }).cdn.publicBaseUrl).toBe('https://img.example.com/files');
    expect(loadConfig({ HOST: '0.0.0.0', S3_BUCKET: 'images' }).cdn.driver).toBe('s3');
  });
});
