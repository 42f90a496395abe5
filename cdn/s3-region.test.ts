import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadCdnConfig } from './config.js';
import { assertS3Region } from './create-storage.js';

/** No region anywhere the SDK looks: no AWS_REGION, no profile files. */
function noRegionAnywhere(): void {
  vi.stubEnv('AWS_REGION', undefined);
  vi.stubEnv('AWS_DEFAULT_REGION', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
}

const settingsNamed = /S3_REGION[\s\S]*AWS_REGION[\s\S]*AWS_DEFAULT_REGION[\s\S]*profile/;

describe('S3 on AWS needs a region at boot', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('refuses to start with no region anywhere, naming every setting that provides one', async () => {
    noRegionAnywhere();
    await expect(assertS3Region(loadCdnConfig({ S3_BUCKET: 'images' }))).rejects.toThrow(settingsNamed);
  });

  it('accepts a region from S3_REGION, AWS_REGION, AWS_DEFAULT_REGION or the profile', async () => {
    noRegionAnywhere();
    await expect(assertS3Region(loadCdnConfig({ S3_BUCKET: 'images', S3_REGION: 'eu-west-1' }))).resolves.toBeUndefined();
    // The SDK reads AWS_DEFAULT_REGION nowhere; the storage config carries it as the AWS CLI does.
    const viaDefault = loadCdnConfig({ S3_BUCKET: 'images', AWS_DEFAULT_REGION: 'eu-west-2' });
    expect(viaDefault.s3.region).toBe('eu-west-2');
    await expect(assertS3Region(viaDefault)).resolves.toBeUndefined();
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    await expect(assertS3Region(loadCdnConfig({ S3_BUCKET: 'images' }))).resolves.toBeUndefined();
  });

  it('keeps AWS_REGION ahead of AWS_DEFAULT_REGION, as the AWS tools do', () => {
    const config = loadCdnConfig({ S3_BUCKET: 'images', AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'eu-west-2' });
    expect(config.s3.region).toBeUndefined(); // the SDK chain reads AWS_REGION itself
    expect(config.s3.urlRegion).toBe('eu-central-1');
  });

  it('keeps the us-east-1 default on a custom endpoint (MinIO, R2) and never asks local disk', async () => {
    noRegionAnywhere();
    await expect(assertS3Region(loadCdnConfig({ S3_BUCKET: 'images', S3_ENDPOINT: 'http://127.0.0.1:9000' }))).resolves.toBeUndefined();
    await expect(assertS3Region(loadCdnConfig({ DATA_DIR: '/tmp/data' }))).resolves.toBeUndefined();
  });
});
