/**
 * Load benchmark: concurrent uploads of real photos against a real service on loopback, at rising
 * request rates and connection counts, until backpressure (503/429) starts; then a soak of 1,000
 * renders through one render worker, sampling its resident memory. Prints markdown for
 * BENCHMARKS.md with PASS/FAIL against the targets.
 *
 *   npm run bench:load
 *
 * The API (with the publish worker) and one render worker run as child processes on a queue
 * prefix and data folder of their own, against the Redis at REDIS_URL; both are removed after.
 * Env: MAX_QUEUE_DEPTH (default 10, low so backpressure is reached), LOAD_STEP_SECONDS (default 10),
 * SOAK_RENDERS (default 1000), SOAK_WARMUP (default 100 renders), SOAK_PHOTO (default HappyFish.jpg).
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadPhotos, multipartUpload, uniqueJpeg, type Photo } from './load-photos.js';
import { startBenchService, treeRss, type BenchService } from './load-service.js';
import { percentile } from './timing.js';

/** The targets, fixed in the brief: do not loosen them to make a run pass. */
const TARGET = { errorsBelowBackpressure: 0, otherStatusesAbove: 0, rssGrowth: 0.15 };
/** Rising load: connections and overall request rate per second (0: as fast as answers come). */
const STEPS = [
  { connections: 1, rate: 1 },
  { connections: 2, rate: 2 },
  { connections: 4, rate: 5 },
  { connections: 8, rate: 10 },
  { connections: 16, rate: 25 },
  { connections: 32, rate: 0 },
];
const BACKPRESSURE = new Set([429, 503]);
/** Answers that are neither accepted (202) nor backpressure. */
const otherAnswers = (statuses: Record<string, number>, allowed = BACKPRESSURE) =>
  Object.entries(statuses)
    .filter(([c]) => c !== '202' && !allowed.has(Number(c)))
    .reduce((a, [, n]) => a + n, 0);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const int = (name: string, fallback: number) => Math.max(1, Math.floor(Number(process.env[name] ?? fallback)) || fallback);
const maxQueueDepth = int('MAX_QUEUE_DEPTH', 10);
const stepSeconds = int('LOAD_STEP_SECONDS', 10);
const soakRenders = int('SOAK_RENDERS', 1000);
const soakWarmup = int('SOAK_WARMUP', 100);
const soakPhotoName = process.env.SOAK_PHOTO ?? 'HappyFish.jpg';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createTenant(service: BenchService): Promise<string> {
  const res = await fetch(`${service.url}/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Load benchmark' }),
  });
  if (res.status !== 201) throw new Error(`creating the tenant answered ${res.status}`);
  return ((await res.json()) as { apiKey: { key: string } }).apiKey.key;
}

async function waitIdle(service: BenchService, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await service.pending()) > 0) {
    if (Date.now() > deadline) throw new Error('the queues did not drain in time');
    await sleep(500);
  }
}

interface StepResult {
  connections: number;
  rate: number;
  statuses: Record<string, number>;
  accepted: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  errorRate: number;
}

async function loadStep(
  service: BenchService,
  key: string,
  photos: Photo[],
  step: (typeof STEPS)[number],
  index: number,
): Promise<StepResult> {
  let counter = 0;
  const latencies202: number[] = [];
  const instance = autocannon({
    url: service.url,
    connections: step.connections,
    duration: stepSeconds,
    timeout: 30,
    ...(step.rate ? { overallRate: step.rate } : {}),
    requests: [
      {
        method: 'POST',
        path: '/v1/assets',
        setupRequest: (request) => {
          const photo = photos[counter % photos.length]!;
          const { body, contentType } = multipartUpload(uniqueJpeg(photo.bytes, `bench ${index} ${counter++} ${Date.now()}`), photo.name);
          return { ...request, body, headers: { authorization: `Bearer ${key}`, 'content-type': contentType } };
        },
      },
    ],
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 202) latencies202.push(ms);
  });
  const result = await instance;
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const accepted = statuses['202'] ?? 0;
  const errors = result.errors + result.timeouts;
  return {
    ...step,
    statuses,
    accepted,
    throughput: accepted / stepSeconds,
    p50: percentile(latencies202, 50),
    p99: percentile(latencies202, 99),
    errors,
    // An error is a socket error, a timeout, or any answer other than 202 and the backpressure codes.
    errorRate: (errors + otherAnswers(statuses)) / Math.max(1, answered + errors),
  };
}

interface Sample {
  seconds: number;
  renders: number;
  rss: number;
}

/** Feed uploads (waiting out backpressure) until `total` renders completed; sample the worker's RSS each second. */
async function soak(service: BenchService, key: string, photo: Photo, total: number): Promise<Sample[]> {
  const start = Date.now();
  const before = await service.rendersCompleted();
  let sent = 0;
  let refused = 0;
  const feeder = async () => {
    while (sent < total) {
      const n = sent++;
      const { body, contentType } = multipartUpload(uniqueJpeg(photo.bytes, `soak ${n} ${Date.now()}`), photo.name);
      for (;;) {
        const res = await fetch(`${service.url}/v1/assets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
          body,
        });
        await res.arrayBuffer();
        if (res.status === 202) break;
        if (!BACKPRESSURE.has(res.status)) throw new Error(`soak upload answered ${res.status}`);
        refused++;
        await sleep(250);
      }
    }
  };
  const feeders = Promise.all(Array.from({ length: 4 }, feeder));
  const samples: Sample[] = [];
  for (;;) {
    const renders = (await service.rendersCompleted()) - before;
    samples.push({ seconds: (Date.now() - start) / 1000, renders, rss: await treeRss(service.worker.pid!) });
    if (renders >= total) break;
    if (service.worker.exitCode !== null) throw new Error('the render worker exited during the soak');
    await sleep(1000);
  }
  await feeders;
  console.error(`soak: ${total} renders in ${samples.at(-1)!.seconds.toFixed(0)} s; ${refused} uploads waited out backpressure`);
  return samples;
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
const ms = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(0));

async function main(): Promise<void> {
  const photos = await loadPhotos(repoRoot);
  const [soakPhoto] = await loadPhotos(repoRoot, soakPhotoName);
  const service = await startBenchService(repoRoot, {
    MAX_QUEUE_DEPTH: String(maxQueueDepth),
    // Rate limits out of the way: this run looks for the queue's backpressure.
    RATE_LIMIT_PER_MINUTE: '1000000',
    UPLOAD_RATE_LIMIT_PER_MINUTE: '1000000',
  });
  try {
    const key = await createTenant(service);
    const results: StepResult[] = [];
    for (const [i, step] of STEPS.entries()) {
      await waitIdle(service);
      const r = await loadStep(service, key, photos, step, i);
      console.error(`step ${i + 1}/${STEPS.length}: ${JSON.stringify(r)}`);
      results.push(r);
    }
    await waitIdle(service);
    const samples = await soak(service, key, soakPhoto!, soakRenders);
    report(results, samples, photos);
  } finally {
    await service.stop();
  }
}

function report(results: StepResult[], samples: Sample[], photos: Photo[]): void {
  const onset = results.findIndex((r) => Object.keys(r.statuses).some((c) => BACKPRESSURE.has(Number(c))));
  const below = onset < 0 ? results : results.slice(0, onset);
  const above = onset < 0 ? [] : results.slice(onset);
  // Below the onset nothing but 202 is allowed; from it on, 429/503 too.
  const errorsBelow = below.reduce((n, r) => n + r.errors + otherAnswers(r.statuses, new Set()), 0);
  const otherAbove = above.reduce((n, r) => n + otherAnswers(r.statuses), 0);
  const resetsAbove = above.reduce((n, r) => n + r.errors, 0);
  const warm = samples.find((s) => s.renders >= soakWarmup) ?? samples[0]!;
  const end = samples.at(-1)!;
  const peak = Math.max(...samples.filter((s) => s.renders >= soakWarmup).map((s) => s.rss));
  const growth = end.rss / warm.rss - 1;
  const pass = (ok: boolean) => (ok ? '**PASS**' : '**FAIL**');

  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}.  `);
  console.log(
    `Photos: ${photos.map((p) => p.name).join(', ')} (each upload made unique by a JPEG comment); MAX_QUEUE_DEPTH=${maxQueueDepth}, ${stepSeconds} s per step, queues drained between steps.  `,
  );
  console.log('');
  console.log('| connections | rate (req/s) | 202/s | p50 202 (ms) | p99 202 (ms) | statuses | socket errors | error rate |');
  console.log('| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const r of results) {
    const statuses = Object.entries(r.statuses)
      .map(([c, n]) => `${c}×${n}`)
      .join(' ');
    console.log(
      `| ${r.connections} | ${r.rate || 'max'} | ${r.throughput.toFixed(1)} | ${ms(r.p50)} | ${ms(r.p99)} | ${statuses} | ${r.errors} | ${(r.errorRate * 100).toFixed(1)} % |`,
    );
  }
  console.log('');
  const at = onset < 0 ? 'not reached' : `${results[onset]!.connections} connections, ${results[onset]!.rate || 'max'} req/s`;
  console.log(`Backpressure starts at: ${at}.  `);
  console.log(
    `Below it, errors or non-202 answers: ${errorsBelow} (target ${TARGET.errorsBelowBackpressure}) ${pass(errorsBelow === 0)}.  `,
  );
  console.log(
    `At and above it, answers other than 202/429/503: ${otherAbove} (target ${TARGET.otherStatusesAbove}) ${pass(otherAbove === 0 && onset >= 0)}; socket errors (a refused upload whose body was still being sent when the connection closed): ${resetsAbove}.  `,
  );
  console.log('');
  console.log(
    `Soak: ${end.renders} renders of ${soakPhotoName} through one render worker in ${end.seconds.toFixed(0)} s; RSS of the worker and its sandboxed children:  `,
  );
  console.log(
    `after warm-up (${warm.renders} renders) ${mib(warm.rss)} MiB, end ${mib(end.rss)} MiB, peak after warm-up ${mib(peak)} MiB; growth **${(growth * 100).toFixed(1)} %** (target ≤ ${TARGET.rssGrowth * 100} %) ${pass(growth <= TARGET.rssGrowth)}.  `,
  );
  const every = Math.max(1, Math.floor(samples.length / 10));
  console.log(
    `Samples (renders: MiB): ${samples
      .filter((_, i) => i % every === 0 || i === samples.length - 1)
      .map((s) => `${s.renders}: ${mib(s.rss)}`)
      .join(', ')}.`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
