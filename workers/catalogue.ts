import { z } from 'zod';
import { CHANNEL_NAMES } from '../templates/channels.js';
import { OUTPUT_FORMATS } from './steps/types.js';

/** Fields every job carries: whose work it is and where it sits in its run. */
const jobBase = z.object({
  tenantId: z.string().min(1),
  assetId: z.string().min(1),
  runId: z.string().min(1),
  /** Index of this job's step in the run record (publish is the last). */
  stepIndex: z.number().int().min(0),
});

/** The original as the run started from it. A step reads its input from its child's output, or this. */
const sourceRef = z.object({ key: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * What an image step hands to the next one: an image in storage and an id that names its content
 * by how it was made (original sha256, then each step, its options and its model), so identical
 * work is found and skipped instead of done again.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One channel's scene made by the generate step: an intermediate image of that channel's canvas. */
export const layoutOutputSchema = z.object({
  channel: z.enum(CHANNEL_NAMES),
  key: z.string(),
  id: sha256,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type LayoutOutput = z.output<typeof layoutOutputSchema>;

export const stepOutputSchema = z.object({
  key: z.string(),
  id: sha256,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The generate step's scenes, one per channel (the first is also `key`); render makes a set of each. */
  layouts: z.array(layoutOutputSchema).min(1).optional(),
  /** The template the generate step applied: its version joins every rendition set id. */
  template: z.object({ id: z.string(), version: sha256 }).optional(),
});
export type StepOutput = z.output<typeof stepOutputSchema>;

export const inferenceJobSchema = jobBase.extend({
  source: sourceRef,
  /** Options as validated by the step's own schema at enqueue time; parsed again by the processor. */
  options: z.record(z.string(), z.unknown()),
});

/**
 * A generate step as enqueued: the template already resolved by the API (the tenant's own or a
 * built-in, params applied), so a template edited while the job waits cannot change this run.
 */
export const generateJobOptionsSchema = z.object({
  templateId: z.string().min(1),
  /** Version of the stored template (before params): what the asset is recorded as using. */
  templateVersion: sha256,
  /** The template with the run's params applied; parsed again by the processor. */
  template: z.record(z.string(), z.unknown()),
  channels: z.array(z.enum(CHANNEL_NAMES)).min(1),
  colourway: z.string().min(1).optional(),
  /** The backplate photo (an original of the same tenant), for backplate templates. */
  backplate: z.object({ key: z.string().min(1), sha256 }).optional(),
});
export type GenerateJobOptions = z.output<typeof generateJobOptionsSchema>;

export const generateJobSchema = jobBase.extend({ source: sourceRef, options: generateJobOptionsSchema });

export const renderJobSchema = jobBase.extend({
  source: sourceRef,
  options: z.object({
    widths: z.array(z.number().int().positive()).min(1),
    formats: z.array(z.enum(OUTPUT_FORMATS)).min(1),
  }),
});

export const publishJobSchema = jobBase.extend({
  source: z.object({
    key: z.string().min(1),
    sha256: z.string(),
    width: z.number(),
    height: z.number(),
    format: z.string(),
    bytes: z.number(),
  }),
  /** The merchant's SKU: its stable URLs are published too. */
  sku: z.string().optional(),
});

/** One catalog item of a batch: the item itself is in the batch's records (workers/batches/store.ts). */
export const batchItemJobSchema = z.object({
  batchId: z.string().regex(/^bat_[0-9a-f]{32}$/),
  tenantId: z.string().min(1),
  line: z.number().int().positive(),
});

/** A tenant-wide job on records and objects (rebuild its asset index, delete it): the tenant alone. */
export const tenantJobSchema = z.object({ tenantId: z.string().min(1).max(128) }).strict();

/** A CDN purge job carries nothing: it sends whatever waits in the purge outbox (workers/purge-outbox.ts). */
export const purgeJobSchema = z.object({}).strict();

/** What the render job returns (and stores as the set marker), read by the publish job. */
const renderedSetSchema = z.object({
  setId: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  hasAlpha: z.boolean(),
  thumbhash: z.string(),
  dominantColor: z.string(),
  renditions: z.array(
    z.object({
      key: z.string(),
      width: z.number().int(),
      height: z.number().int(),
      format: z.enum(OUTPUT_FORMATS),
      bytes: z.number().int(),
    }),
  ),
  /** The set's lossless master (imgix reads it), when one was written. */
  master: z.object({ key: z.string(), width: z.number().int(), height: z.number().int() }).optional(),
});
/**
 * One responsive set; after a generate step with channels, the first channel's set at the top
 * (the single-layout shape) and every channel's in `channels`.
 */
export const renderResultSchema = renderedSetSchema.extend({
  channels: z.array(renderedSetSchema.extend({ channel: z.enum(CHANNEL_NAMES) })).optional(),
  template: z.object({ id: z.string(), version: sha256 }).optional(),
});
export type RenderResult = z.output<typeof renderResultSchema>;

/** Each job's payload as its processor reads it (the job table, workers/jobs/, pairs them with names and queues). */
export type InferenceJobData = z.output<typeof inferenceJobSchema>;
export type GenerateJobData = z.output<typeof generateJobSchema>;
export type RenderJobData = z.output<typeof renderJobSchema>;
export type PublishJobData = z.output<typeof publishJobSchema>;
export type BatchItemJobData = z.output<typeof batchItemJobSchema>;
