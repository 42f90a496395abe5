import { describeInvalidatorConformance } from './invalidator.conformance.js';
import { noneInvalidator } from './none.js';

describeInvalidatorConformance('none (no CDN: purges nothing, reports zeros)', async () => ({
  invalidator: noneInvalidator(),
  targetsFor: () => [],
  purges: { keys: false, urls: false },
  cleanup: async () => {},
}));
