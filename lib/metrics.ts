import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: from a fast publish to a long upscale. */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What a queue reports when scraped. */
export interface QueueProbe {
  name: string;
  counts(): Promise<Record<string, number>>;
  /** Age in seconds of the oldest job waiting to run, or 0 when none waits. */
  oldestWaitingAgeSeconds(): Promise<number>;
}

/**
 * The service's Prometheus metrics, in a registry of their own (one per service instance, so
 * several instances in one process, as in tests, never collide).
 */
export function createMetrics(queues: () => QueueProbe[] = () => []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request time by route',
      labelNames: ['route', 'method'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'pipeline_step_duration_seconds',
      help: 'Time per pipeline step (and model, for AI steps)',
      labelNames: ['step', 'model'],
      buckets: STEP_BUCKETS,
      registers,
    }),
    stepFailures: new Counter({
      name: 'pipeline_step_failures_total',
      help: 'Failed step attempts by step, error code and whether retries are over',
      labelNames: ['step', 'code', 'final'],
      registers,
    }),
    bytesIn: new Counter({ name: 'pipeline_bytes_in_total', help: 'Bytes of accepted uploads', registers }),
    bytesOut: new Counter({
      name: 'pipeline_bytes_out_total',
      help: 'Bytes of the renditions each completed render step reports (a reused set counts again)',
      registers,
    }),
    purges: new Counter({ name: 'cdn_purges_total', help: 'CDN purge batches by outcome', labelNames: ['driver', 'outcome'], registers }),
    queueJobs: new Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        for (const queue of queues()) {
          for (const [state, count] of Object.entries(await queue.counts())) this.set({ queue: queue.name, state }, count);
        }
      },
    }),
    queueOldestAge: new Gauge({
      name: 'queue_oldest_waiting_job_age_seconds',
      help: 'Age of the oldest job waiting per queue',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const queue of queues()) this.set({ queue: queue.name }, await queue.oldestWaitingAgeSeconds());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
