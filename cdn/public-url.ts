import type { CdnConfig } from './config.js';

/** Port the fs driver's `/files/` route is assumed to be on when the caller gives none (the API's default). */
export const DEFAULT_API_PORT = 3000;

/**
 * Percent-encode each `/`-separated segment of a key for use in a URL path. Stricter than
 * `encodeURIComponent`: `!'()*` are encoded too (RFC 3986 reserves them; S3's SigV4 encodes them),
 * so the URL names exactly one key on every server and CDN.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * The function that turns an object key into the URL clients fetch it from:
 *
 * - `PUBLIC_BASE_URL` when set (a CDN in front of the storage): `<base>/<key>`;
 * - fs driver: the API's file route, `http://localhost:<port>/files/<key>`;
 * - s3 path-style (`S3_FORCE_PATH_STYLE`): `<endpoint>/<bucket>/<key>`, the endpoint defaulting
 *   to `https://s3.<region>.amazonaws.com`;
 * - s3 virtual-host: `https://<bucket>.s3.<region>.amazonaws.com/<key>`, or
 *   `<scheme>://<bucket>.<endpoint host>/<key>` for a custom endpoint.
 *
 * The region is S3_REGION, else AWS_REGION. With neither (the SDK found it in a profile), the
 * global host `s3.amazonaws.com` is named: AWS routes `<bucket>.s3.amazonaws.com` to the bucket's
 * region, while path-style there reaches us-east-1 only; set PUBLIC_BASE_URL or S3_REGION then.
 */
export function publicUrlFor(config: CdnConfig, port: number = DEFAULT_API_PORT): (key: string) => string {
  let base: string;
  if (config.publicBaseUrl) {
    base = config.publicBaseUrl.replace(/\/+$/, '');
  } else if (config.driver === 'fs') {
    base = `http://localhost:${port}/files`;
  } else {
    const bucket = config.s3.bucket ?? '';
    const host = config.s3.urlRegion ? `s3.${config.s3.urlRegion}.amazonaws.com` : 's3.amazonaws.com';
    const endpoint = config.s3.endpoint?.replace(/\/+$/, '');
    if (config.s3.forcePathStyle) {
      base = `${endpoint ?? `https://${host}`}/${encodeURIComponent(bucket)}`;
    } else if (endpoint) {
      const url = new URL(endpoint);
      url.hostname = `${bucket}.${url.hostname}`;
      base = url.toString().replace(/\/+$/, '');
    } else {
      base = `https://${bucket}.${host}`;
    }
  }
  return (key: string) => `${base}/${encodeKeyPath(key)}`;
}

/**
 * Where the on-demand endpoint (`/img/…`) is reached, for the URLs manifests offer:
 * `ON_DEMAND_BASE_URL` when set; else the origin of `PUBLIC_BASE_URL` (the CDN in front of the
 * storage fronts `/img/` too: cdn/varnish/default.vcl); else, on the fs driver, the API itself
 * (`http://localhost:<port>`, as its `/files/` route); else none: a bucket's own URL serves no
 * `/img/`, and manifests then list pre-rendered URLs only.
 */
export function onDemandBaseFor(config: CdnConfig, port: number = DEFAULT_API_PORT): string | undefined {
  if (config.onDemandBaseUrl) return config.onDemandBaseUrl;
  if (config.publicBaseUrl) return new URL(config.publicBaseUrl).origin;
  return config.driver === 'fs' ? `http://localhost:${port}` : undefined;
}
