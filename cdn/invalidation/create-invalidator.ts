import type { InvalidationConfig } from '../config.js';
import { cloudfrontInvalidator } from './cloudfront.js';
import { fastlyInvalidator } from './fastly.js';
import { imgixInvalidator } from './imgix.js';
import type { CdnInvalidator } from './invalidator.js';
import { noneInvalidator } from './none.js';
import { varnishInvalidator } from './varnish.js';

/**
 * The configured invalidator (`CdnConfig.invalidation`, from `CDN_INVALIDATOR` and its variables).
 * CloudFront uses the AWS SDK's default credential chain and invalidates URL paths only; map
 * surrogate keys to paths by building `cloudfrontInvalidator` with `keyPaths` yourself.
 */
export function createInvalidator(config: InvalidationConfig): CdnInvalidator {
  switch (config.driver) {
    case 'varnish':
      return varnishInvalidator({ url: config.url, banFallback: config.banFallback, soft: config.soft });
    case 'fastly':
      return fastlyInvalidator({ serviceId: config.serviceId, apiToken: config.apiToken, soft: config.soft });
    case 'cloudfront':
      return cloudfrontInvalidator({ distributionId: config.distributionId });
    case 'imgix':
      return imgixInvalidator({ apiKey: config.apiKey });
    case 'none':
      return noneInvalidator();
  }
}
