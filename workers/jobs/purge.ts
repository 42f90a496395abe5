import { purgeJobSchema } from '../catalogue.js';
import { processPurge } from '../processors/purge.js';
import { defineJob } from './types.js';

/** One batched CDN purge: it serves many runs and records its outcome in each of them itself. */
export const purgeJob = defineJob({
  name: 'purge',
  queue: 'publish',
  data: purgeJobSchema,
  servesRunStep: false,
  needs: 'purge',
  completedLog: 'CDN purge completed',
  handler: (run, deps) => processPurge(deps, run.attempt, run.signal),
});
