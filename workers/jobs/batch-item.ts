import { batchItemJobSchema } from '../catalogue.js';
import { processBatchItem } from '../batches/item.js';
import { defineJob } from './types.js';

/** One catalog item: its steps in a low-priority child, then publish; it records its own run and batch state. */
export const batchItemJob = defineJob({
  name: 'batch-item',
  queue: 'batch',
  data: batchItemJobSchema,
  servesRunStep: false,
  needs: 'batch',
  handler: (run, deps) => processBatchItem(run.data, run.attempt, deps, run.signal),
});
