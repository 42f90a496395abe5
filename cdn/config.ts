import { z } from 'zod';
import { envBool, envInt, parseEnv, type Env } from '../lib/env.js';

const INVALIDATORS = ['none', 'varnish', 'fastly', 'cloudfront', 'imgix'] as const;

/** The variables each invalidation driver cannot start without. */
const INVALIDATOR_NEEDS = {
  none: [],
  varnish: ['VARNISH_URL'],
  fastly: ['FASTLY_SERVICE_ID', 'FASTLY_API_TOKEN'],
  cloudfront: ['CLOUDFRONT_DISTRIBUTION_ID'],
  imgix: ['IMGIX_API_KEY'],
} as const satisfies Record<(typeof INVALIDATORS)[number], readonly string[]>;

/** Which CDN to purge and how; built only after the variables it needs were checked. */
export type InvalidationConfig =
  | { driver: 'none' }
  | { driver: 'varnish'; url: string; banFallback: boolean; soft: boolean }
  | { driver: 'fastly'; serviceId: string; apiToken: string; soft: boolean }
  | { driver: 'cloudfront'; distributionId: string }
  | { driver: 'imgix'; apiKey: string };

function invalidationConfig(e: {
  CDN_INVALIDATOR: (typeof INVALIDATORS)[number];
  VARNISH_URL?: string | undefined;
  VARNISH_BAN_FALLBACK: boolean;
  VARNISH_SOFT_PURGE: boolean;
  FASTLY_SERVICE_ID?: string | undefined;
  FASTLY_API_TOKEN?: string | undefined;
  FASTLY_SOFT_PURGE: boolean;
  CLOUDFRONT_DISTRIBUTION_ID?: string | undefined;
  IMGIX_API_KEY?: string | undefined;
}): InvalidationConfig {
  // The superRefine above has refused a missing variable for the chosen driver.
  switch (e.CDN_INVALIDATOR) {
    case 'varnish':
      return { driver: 'varnish', url: e.VARNISH_URL!, banFallback: e.VARNISH_BAN_FALLBACK, soft: e.VARNISH_SOFT_PURGE };
    case 'fastly':
      return { driver: 'fastly', serviceId: e.FASTLY_SERVICE_ID!, apiToken: e.FASTLY_API_TOKEN!, soft: e.FASTLY_SOFT_PURGE };
    case 'cloudfront':
      return { driver: 'cloudfront', distributionId: e.CLOUDFRONT_DISTRIBUTION_ID! };
    case 'imgix':
      return { driver: 'imgix', apiKey: e.IMGIX_API_KEY! };
    default:
      return { driver: 'none' };
  }
}

const schema = z
  .object({
    STORAGE_DRIVER: z.enum(['fs', 's3']).optional(),
    DATA_DIR: z.string().default('./data'),
    S3_BUCKET: z.string().min(3).optional(),
    /** Explicit override; unset, the AWS SDK's chain decides (AWS_REGION, the profile's region). */
    S3_REGION: z.string().min(1).optional(),
    /** Read by the AWS SDK itself; here only to name the region in public S3 URLs when S3_REGION is unset. */
    AWS_REGION: z.string().min(1).optional(),
    /** The AWS CLI's fallback after AWS_REGION; the JavaScript SDK ignores it, so the config carries it. */
    AWS_DEFAULT_REGION: z.string().min(1).optional(),
    S3_ENDPOINT: z.url().optional(),
    S3_FORCE_PATH_STYLE: envBool(false),
    S3_ACCESS_KEY_ID: z.string().optional(),
    S3_SECRET_ACCESS_KEY: z.string().optional(),
    /** Opening a connection to the bucket may take this long before the request is retried. */
    S3_CONNECT_TIMEOUT_MS: envInt(5_000),
    /** A request whose socket stays silent this long (a stalled bucket) is abandoned and retried. */
    S3_IDLE_TIMEOUT_MS: envInt(60_000),
    /** Tries per request inside the SDK (exponential backoff with jitter) before a job sees the failure. */
    S3_MAX_ATTEMPTS: envInt(3),
    PUBLIC_BASE_URL: z.url().optional(),
    /** Where clients reach the on-demand endpoint (`/img/…`) for the URLs manifests offer. */
    ON_DEMAND_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    IMGIX_DOMAIN: z.string().optional(),
    IMGIX_SECURE_TOKEN: z.string().optional(),
    // CDN invalidation (cdn/invalidation/): which CDN to purge when mutable objects change.
    CDN_INVALIDATOR: z.enum(INVALIDATORS).default('none'),
    VARNISH_URL: z.url({ protocol: /^https?$/ }).optional(),
    VARNISH_BAN_FALLBACK: envBool(false),
    VARNISH_SOFT_PURGE: envBool(false),
    FASTLY_SERVICE_ID: z.string().min(1).optional(),
    FASTLY_API_TOKEN: z.string().min(1).optional(),
    FASTLY_SOFT_PURGE: envBool(false),
    CLOUDFRONT_DISTRIBUTION_ID: z.string().min(1).optional(),
    IMGIX_API_KEY: z.string().min(1).optional(),
  })
  .superRefine((e, ctx) => {
    for (const name of INVALIDATOR_NEEDS[e.CDN_INVALIDATOR]) {
      if (!e[name]) ctx.addIssue({ code: 'custom', path: [name], message: `CDN_INVALIDATOR=${e.CDN_INVALIDATOR} needs ${name}` });
    }
  })
  .transform((e) => ({
    driver: e.STORAGE_DRIVER ?? (e.S3_BUCKET ? ('s3' as const) : ('fs' as const)),
    dataDir: e.DATA_DIR,
    s3: {
      bucket: e.S3_BUCKET,
      /** Undefined: the SDK resolves it (cdn/s3-storage.ts); AWS_DEFAULT_REGION only when AWS_REGION is unset. */
      region: e.S3_REGION ?? (e.AWS_REGION ? undefined : e.AWS_DEFAULT_REGION),
      /** The region public AWS URLs name: S3_REGION, else AWS_REGION (the chain's first source), AWS_DEFAULT_REGION, else none. */
      urlRegion: e.S3_REGION ?? e.AWS_REGION ?? e.AWS_DEFAULT_REGION,
      endpoint: e.S3_ENDPOINT,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      timeouts: { connectMs: e.S3_CONNECT_TIMEOUT_MS, idleMs: e.S3_IDLE_TIMEOUT_MS },
      maxAttempts: e.S3_MAX_ATTEMPTS,
    },
    /** Base of every public URL in manifests; undefined means "derive from the driver". */
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    /** Origin (and path prefix) of `/img/` in manifests; undefined means "derive it" (see `onDemandBaseFor`). */
    onDemandBaseUrl: e.ON_DEMAND_BASE_URL?.replace(/\/+$/, ''),
    imgix: e.IMGIX_DOMAIN ? { domain: e.IMGIX_DOMAIN, secureToken: e.IMGIX_SECURE_TOKEN } : undefined,
    invalidation: invalidationConfig(e),
  }))
  .superRefine((c, ctx) => {
    if (c.driver === 's3' && !c.s3.bucket) ctx.addIssue({ code: 'custom', message: 'STORAGE_DRIVER=s3 needs S3_BUCKET' });
  });

export type CdnConfig = z.output<typeof schema>;
export const loadCdnConfig = (env: Env): CdnConfig => parseEnv(schema, env, 'storage/CDN');
