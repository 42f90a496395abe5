import { tenantJobSchema } from '../catalogue.js';
import { processDeleteTenant } from '../processors/tenant-records.js';
import { defineJob } from './types.js';

/** Remove all a deleted tenant has (queued by `DELETE /v1/tenants/:id`, one per tenant at a time). */
export const deleteTenantJob = defineJob({
  name: 'delete-tenant',
  queue: 'publish',
  data: tenantJobSchema,
  servesRunStep: false,
  needs: 'records',
  completedLog: 'tenant deleted',
  handler: (run, deps) => processDeleteTenant(deps, run.data.tenantId, run.attempt),
});
