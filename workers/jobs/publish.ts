import { publishJobSchema } from '../catalogue.js';
import { processPublish } from '../processors/publish.js';
import { defineJob } from './types.js';

/** Manifest, stable URLs and the purge request: the root of every run's flow, on the publish queue. */
export const publishJob = defineJob({
  name: 'publish',
  queue: 'publish',
  data: publishJobSchema,
  servesRunStep: true,
  needs: 'publish',
  handler: (run, deps) => processPublish({ getChildrenValues: run.children as never }, run.data, deps),
});
