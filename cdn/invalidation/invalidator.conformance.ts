import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { isRetryablePurgeFailure, type CdnInvalidator, type PurgeRequest } from './invalidator.js';
import type { ServiceProbe } from './testing/probe.js';

export type { FailureMode, ServiceProbe, ServiceSeen } from './testing/probe.js';

/** What a driver's test file hands the suite. */
export interface InvalidatorSubject {
  invalidator: CdnInvalidator;
  /** The service behind the driver; absent for `none`, which talks to nothing. */
  service?: ServiceProbe;
  /** The targets the service must see for these (distinct) keys and URLs, each exactly once. */
  targetsFor(keys: string[], urls: string[]): string[];
  /** Whether the driver purges surrogate keys and URLs; it reports 0 for what it does not. */
  purges: { keys: boolean; urls: boolean };
  cleanup(): Promise<void>;
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

const sorted = (a: string[]) => [...a].sort();

/**
 * The behaviour every `CdnInvalidator` must have (like cdn/storage.conformance.ts). Each test
 * uses fresh UUID-named keys and URLs, so nothing one test purges can be seen by another.
 */
export function describeInvalidatorConformance(name: string, factory: () => Promise<InvalidatorSubject>): void {
  describe(`CdnInvalidator conformance: ${name}`, () => {
    let subject: InvalidatorSubject | undefined;
    const s = () => {
      if (!subject) throw new Error('invalidator factory did not run');
      return subject;
    };
    const fresh = (keys: number, urls: number) => {
      const id = randomUUID();
      return {
        surrogateKeys: Array.from({ length: keys }, (_, i) => `asset:${id}-${i}`),
        urls: Array.from({ length: urls }, (_, i) => `https://cdn.example.test/t/${id}/assets/a${i}/manifest.json`),
      };
    };
    const expectCounts = (req: PurgeRequest) => ({
      driver: s().invalidator.name,
      purgedKeys: s().purges.keys ? req.surrogateKeys.length : 0,
      purgedUrls: s().purges.urls ? req.urls.length : 0,
    });
    const expectPurgeFailure = (err: unknown, status: number) => {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CDN_PURGE_FAILED');
      expect((err as AppError).status).toBe(status);
    };

    beforeAll(async () => {
      subject = await factory();
    });
    afterEach(() => {
      const service = subject?.service;
      if (!service) return;
      const { violations } = service.seen();
      service.heal();
      service.reset();
      expect(violations, 'requests that break the documented API').toEqual([]);
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('purges a batch of keys and URLs and reports the counts', async () => {
      const req = fresh(3, 2);
      const result = await s().invalidator.purge(req);
      expect(result).toMatchObject(expectCounts(req));
      const service = s().service;
      if (!service) return expect(result.requests).toBe(0);
      const seen = service.seen();
      expect(result.requests).toBe(seen.requests);
      expect(result.requests).toBeGreaterThan(0);
      expect(sorted(seen.targets)).toEqual(sorted(s().targetsFor(req.surrogateKeys, req.urls)));
    });

    it('treats an empty request as a no-op with zero requests', async () => {
      const result = await s().invalidator.purge({ surrogateKeys: [], urls: [] });
      expect(result).toEqual({ driver: s().invalidator.name, purgedKeys: 0, purgedUrls: 0, requests: 0 });
      expect(s().service?.seen().requests ?? 0).toBe(0);
    });

    it('de-duplicates repeated keys and URLs', async () => {
      const req = fresh(2, 2);
      const [k1, k2] = req.surrogateKeys as [string, string];
      const [u1, u2] = req.urls as [string, string];
      const result = await s().invalidator.purge({ surrogateKeys: [k1, k2, k1, k1, k2], urls: [u1, u2, u1, `${u2}#fragment`] });
      expect(result).toMatchObject(expectCounts(req));
      const seen = s().service?.seen();
      if (seen) expect(sorted(seen.targets)).toEqual(sorted(s().targetsFor([k1, k2], [u1, u2])));
    });

    it('splits a large batch into requests the service accepts, each target sent once', async () => {
      const req = fresh(600, 12);
      const result = await s().invalidator.purge(req);
      expect(result).toMatchObject(expectCounts(req));
      const seen = s().service?.seen();
      if (!seen) return;
      expect(result.requests).toBe(seen.requests);
      expect(sorted(seen.targets)).toEqual(sorted(s().targetsFor(req.surrogateKeys, req.urls)));
    });

    it('refuses malformed keys and URLs as BAD_REQUEST before sending anything', async () => {
      const ok = fresh(1, 1);
      const bad: PurgeRequest[] = [
        { surrogateKeys: ['two words'], urls: [] },
        { surrogateKeys: ['a,b'], urls: [] },
        { surrogateKeys: [''], urls: [] },
        { surrogateKeys: ['ünïcode'], urls: [] },
        { surrogateKeys: ['k'.repeat(257)], urls: [] },
        { surrogateKeys: [...ok.surrogateKeys, 'bad"quote'], urls: ok.urls },
        { surrogateKeys: [], urls: ['/relative/path.json'] },
        { surrogateKeys: [], urls: ['ftp://cdn.example.test/x'] },
        { surrogateKeys: [], urls: ['https://user:secret@cdn.example.test/x'] },
        { surrogateKeys: ok.surrogateKeys, urls: [...ok.urls, 'not a url'] },
      ];
      for (const req of bad) {
        const err = await failureOf(s().invalidator.purge(req));
        expect(err, JSON.stringify(req).slice(0, 120)).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe('BAD_REQUEST');
        expect((err as AppError).status).toBe(400);
      }
      expect(s().service?.seen().requests ?? 0).toBe(0);
    });

    it('surfaces an unavailable service as a retryable CDN_PURGE_FAILED (503), never as success', async (ctx) => {
      const service = s().service;
      if (!service) return ctx.skip();
      const req = fresh(2, 1);
      service.breakWith('unavailable');
      const err = await failureOf(s().invalidator.purge(req));
      expectPurgeFailure(err, 503);
      expect(isRetryablePurgeFailure(err)).toBe(true);
      expect(service.seen().requests).toBeGreaterThan(0);
      service.heal();
      await expect(s().invalidator.purge(req)).resolves.toMatchObject(expectCounts(req));
    });

    it('surfaces throttling as a retryable CDN_PURGE_FAILED with the wait the service asked for', async (ctx) => {
      const service = s().service;
      if (!service?.throttle) return ctx.skip();
      service.breakWith('throttled');
      const err = await failureOf(s().invalidator.purge(fresh(2, 1)));
      expectPurgeFailure(err, 503);
      const waitMs = service.throttle.waitMs;
      if (waitMs !== undefined) {
        const retryAfterMs = (err as AppError).details?.retryAfterMs as number;
        // Services say it in whole seconds (Retry-After, or an epoch second when the window resets).
        expect(Math.abs(retryAfterMs - waitMs)).toBeLessThanOrEqual(1500);
      }
    });

    it('rejects with the abort reason, sending nothing, when aborted before it starts', async () => {
      const controller = new AbortController();
      const reason = new Error(`aborted ${randomUUID()}`);
      controller.abort(reason);
      await expect(s().invalidator.purge(fresh(2, 2), controller.signal)).rejects.toBe(reason);
      expect(s().service?.seen().requests ?? 0).toBe(0);
    });

    it('rejects promptly with the abort reason when aborted while the service is not answering', async (ctx) => {
      const service = s().service;
      if (!service) return ctx.skip();
      service.breakWith('stall');
      const controller = new AbortController();
      const reason = new Error(`aborted ${randomUUID()}`);
      const outcome = failureOf(s().invalidator.purge(fresh(2, 2), controller.signal));
      // Abort only once the request is with the service (a pacing driver may wait for a slot first).
      await expect.poll(() => service.seen().requests, { timeout: 3000 }).toBe(1);
      const abortedAt = Date.now();
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      expect(Date.now() - abortedAt).toBeLessThan(1000);
      expect(service.seen().requests).toBe(1);
    });
  });
}
