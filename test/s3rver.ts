import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/** A running in-process s3rver. */
export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; use with `forcePathStyle: true`. */
  endpoint: string;
  region: string;
  /** s3rver checks SigV4 signatures against this fixed account. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Create a bucket (a fresh UUID-named one by default) and return its name. */
  bucket(name?: string): Promise<string>;
  /** The service settings that store into `bucket` here (through `endpoint`, e.g. a fault proxy, when given). */
  serviceEnv(bucket: string, endpoint?: string): Record<string, string>;
  /** Stop the server and remove its data directory. Calling it twice is harmless. */
  stop(): Promise<void>;
}

/**
 * Start s3rver@3.7.1 in this process on 127.0.0.1 with a random port, silent, storing into a
 * fresh temp directory. Clients must set `forcePathStyle: true` (there is no DNS for
 * `<bucket>.127.0.0.1`) and `requestChecksumCalculation`/`responseChecksumValidation` to
 * `WHEN_REQUIRED`; s3rver does not implement flexible checksums.
 */
export async function startS3rver(): Promise<S3rverHandle> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  let address;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    region,
    credentials,
    serviceEnv: (bucket, via = endpoint) => ({
      S3_BUCKET: bucket,
      S3_ENDPOINT: via,
      S3_REGION: region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }),
    async bucket(name = `test-${randomUUID()}`) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    stop() {
      stopped ??= (async () => {
        client.destroy();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
