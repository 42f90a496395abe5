import { z } from 'zod';

/** Environment variables as read once at boot. Only `loadConfig` touches `process.env`. */
export type Env = Record<string, string | undefined>;

/** "true"/"1"/"yes" → true, "false"/"0"/"no"/"" → false. */
export const envBool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

/** A positive integer read from a string, with a default. */
export const envInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A comma-separated list of positive integers, e.g. "320,640". */
export const envIntList = (fallback: number[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return fallback;
      const out = v.split(',').map((s) => Number(s.trim()));
      if (out.some((n) => !Number.isInteger(n) || n <= 0)) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated positive integers, got "${v}"` });
        return z.NEVER;
      }
      return out;
    });

/** Parse one folder's slice of the environment, failing with every bad variable named. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env, area: string): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`Invalid ${area} configuration:\n${lines.join('\n')}`);
}
