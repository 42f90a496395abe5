import { z } from 'zod';
import { ERROR_CODES } from '../lib/errors.js';
import { recipeSchema } from '../workers/recipe.js';

/** Response schemas: they validate what we send and generate the OpenAPI document. */

/**
 * Every error body: RFC 9457 problem details (`type`, `title`, `status`, `detail`, `instance`, with
 * `code` and `details` as extensions) beside the older `error` object, which stays during the
 * transition (README, "Errors"). The media type is `application/problem+json` when the request's
 * `Accept` asks for it, `application/json` otherwise; the body is the same.
 */
export const errorBodySchema = z
  .object({
    type: z.string().describe('The problem type: `about:blank`, so `title` is the status phrase and `code` says which problem.'),
    title: z.string().describe("The HTTP status phrase (e.g. 'Not Found')."),
    status: z.number().int().describe('The HTTP status of this answer.'),
    detail: z.string().describe('What went wrong with this request, for a human (the same as `error.message`).'),
    instance: z.string().optional().describe('The request id (`X-Request-Id`): quote it when you report the problem.'),
    code: z.enum(ERROR_CODES).describe('The stable code to branch on (README, "Errors").'),
    details: z.record(z.string(), z.unknown()).optional().describe('Machine-readable facts: limits, offending values.'),
    error: z
      .object({
        code: z.enum(ERROR_CODES),
        message: z.string(),
        details: z.record(z.string(), z.unknown()).optional(),
      })
      .describe('The older shape, kept during the transition: the same `code`, `detail` as `message`, and `details`.'),
  })
  .describe('Every error: RFC 9457 problem details with a stable `code`, and the older `error` object.');

const failureSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string() });

export const stepSchema = z.object({
  name: z.string(),
  state: z.enum(['queued', 'active', 'retrying', 'completed', 'failed']),
  progress: z.number().min(0).max(100),
  attempts: z.number().int(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  error: failureSchema.optional(),
  durationMs: z.number().optional().describe('Wall time of the attempt that completed the step.'),
  timings: z.record(z.string(), z.number()).optional().describe('Where that time went, in ms.'),
  model: z.string().optional().describe('The model an AI step ran.'),
  template: z.object({ id: z.string(), version: z.string() }).optional().describe('The scene template a generate step applied.'),
});

export const runSchema = z.object({
  id: z.string(),
  assetId: z.string(),
  recipe: recipeSchema,
  state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  progress: z.number().min(0).max(100),
  steps: z.array(stepSchema),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  error: failureSchema.optional(),
  outputs: z.object({ manifestUrl: z.string(), manifestKey: z.string() }).optional(),
  purge: z
    .object({
      state: z.enum(['queued', 'active', 'retrying', 'completed', 'failed']),
      attempts: z.number().int(),
      error: failureSchema.optional(),
      result: z.object({ driver: z.string(), purgedKeys: z.number(), purgedUrls: z.number(), requests: z.number() }).optional(),
    })
    .optional()
    .describe('The CDN purge after publishing; its failure never fails the run.'),
});

export const assetSchema = z.object({
  id: z.string(),
  sku: z.string().optional(),
  original: z.object({
    sha256: z.string(),
    format: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    bytes: z.number().int(),
    filename: z.string().optional(),
  }),
  createdAt: z.string(),
  /** The published manifest, once a run has completed. */
  manifest: z.unknown().optional(),
  manifestUrl: z.string().optional(),
  runIds: z.array(z.string()).optional(),
});

export const idParams = z.object({ id: z.string().min(1).max(128) });
