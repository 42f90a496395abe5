import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { CdnConfig } from './config.js';
import { fsStorage } from './fs-storage.js';
import { s3Storage } from './s3-storage.js';
import type { ObjectStorage } from './storage.js';

/**
 * Directory under `DATA_DIR` that holds the fs driver's objects, so `DATA_DIR` can hold other
 * things (caches, models) that must never be listed or served as objects.
 */
export const FS_OBJECTS_DIR = 'objects';

/** The configured storage driver: `fs` under `<DATA_DIR>/objects`, or `s3`. */
export function createStorage(config: CdnConfig): ObjectStorage {
  if (config.driver === 'fs') return fsStorage({ root: path.resolve(config.dataDir, FS_OBJECTS_DIR) });
  const { bucket, region, endpoint, forcePathStyle, accessKeyId, secretAccessKey, timeouts, maxAttempts } = config.s3;
  // loadCdnConfig refuses driver=s3 without a bucket; this guards hand-built configs.
  if (!bucket) throw new Error('createStorage: the s3 driver needs a bucket');
  return s3Storage({
    bucket,
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle,
    timeouts,
    maxAttempts,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  });
}

/**
 * Refuse to boot S3 on AWS (no S3_ENDPOINT) when no region is found anywhere: the SDK would fail
 * every request with "Region is missing", each one a STORAGE_ERROR, while the service looked
 * healthy. The SDK's chain (AWS_REGION, then the profile's region) is asked as each request would
 * ask it. A custom endpoint keeps its default region (cdn/s3-storage.ts), and local disk needs none.
 */
export async function assertS3Region(config: CdnConfig): Promise<void> {
  if (config.driver !== 's3' || config.s3.region || config.s3.endpoint) return;
  const probe = new S3Client({});
  try {
    await probe.config.region();
  } catch {
    throw new Error(
      'Invalid storage/CDN configuration:\n  S3_REGION: S3 on AWS (no S3_ENDPOINT) needs a region and none was found: ' +
        'set S3_REGION, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the AWS profile (AWS_PROFILE, ~/.aws/config)',
    );
  } finally {
    probe.destroy();
  }
}
