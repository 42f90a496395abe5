import { tenantJobSchema } from '../catalogue.js';
import { processRebuildAssetIndex } from '../processors/tenant-records.js';
import { defineJob } from './types.js';

/** Rebuild one tenant's asset list index that Redis lost (queued by a list that found none; one per tenant at a time). */
export const rebuildAssetIndexJob = defineJob({
  name: 'rebuild-asset-index',
  queue: 'publish',
  data: tenantJobSchema,
  servesRunStep: false,
  needs: 'records',
  completedLog: 'asset index rebuilt',
  handler: (run, deps) => processRebuildAssetIndex(deps, run.data.tenantId),
});
