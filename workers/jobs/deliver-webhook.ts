import { processDelivery } from '../webhooks/deliver.js';
import { webhookJobSchema } from '../webhooks/types.js';
import { defineJob } from './types.js';

/** One try of one signed webhook delivery: it serves no run step. */
export const deliverWebhookJob = defineJob({
  name: 'deliver-webhook',
  queue: 'publish',
  data: webhookJobSchema,
  servesRunStep: false,
  needs: 'delivery',
  handler: (run, deps) => processDelivery(deps, run.data.deliveryId, run.attempt),
});
