import { z } from 'zod';
import { envBool, parseEnv, type Env } from '../lib/env.js';

const schema = z
  .object({
    STORAGE_DRIVER: z.enum(['fs', 's3']).optional(),
    DATA_DIR: z.string().default('./data'),
    S3_BUCKET: z.string().min(3).optional(),
    S3_REGION: z.string().default('us-east-1'),
    S3_ENDPOINT: z.url().optional(),
    S3_FORCE_PATH_STYLE: envBool(false),
    S3_ACCESS_KEY_ID: z.string().optional(),
    S3_SECRET_ACCESS_KEY: z.string().optional(),
    PUBLIC_BASE_URL: z.url().optional(),
    IMGIX_DOMAIN: z.string().optional(),
    IMGIX_SECURE_TOKEN: z.string().optional(),
  })
  .transform((e) => ({
    driver: e.STORAGE_DRIVER ?? (e.S3_BUCKET ? ('s3' as const) : ('fs' as const)),
    dataDir: e.DATA_DIR,
    s3: {
      bucket: e.S3_BUCKET,
      region: e.S3_REGION,
      endpoint: e.S3_ENDPOINT,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
    },
    /** Base of every public URL in manifests; undefined means "derive from the driver". */
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    imgix: e.IMGIX_DOMAIN ? { domain: e.IMGIX_DOMAIN, secureToken: e.IMGIX_SECURE_TOKEN } : undefined,
  }))
  .superRefine((c, ctx) => {
    if (c.driver === 's3' && !c.s3.bucket) ctx.addIssue({ code: 'custom', message: 'STORAGE_DRIVER=s3 needs S3_BUCKET' });
  });

export type CdnConfig = z.output<typeof schema>;
export const loadCdnConfig = (env: Env): CdnConfig => parseEnv(schema, env, 'storage/CDN');
