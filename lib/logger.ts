import { pino, type Logger } from 'pino';

/** Structured JSON logs. `LOG_LEVEL` is read once in config; this only builds the logger. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'product-image-pipeline', ...bindings } });
}
export type { Logger };
