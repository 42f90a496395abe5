import path from 'node:path';
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
