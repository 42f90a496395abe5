// What the invalidator conformance suite needs to see of the service behind a driver.

/** How a service can be made to fail: down or overloaded, rate-limiting, or never answering. */
export type FailureMode = 'unavailable' | 'throttled' | 'stall';

/** What reached the service since the last reset. */
export interface ServiceSeen {
  requests: number;
  /** One entry per purge target per request, in the subject's notation (`key:<k>`, `url:<…>`). */
  targets: string[];
  /** Requests that broke the service's documented API. */
  violations: string[];
}

/** The service a driver talks to (a real Varnish behind a recorder, or a local stand-in API). */
export interface ServiceProbe {
  reset(): void;
  seen(): ServiceSeen;
  /** Fail every request the way the service fails, until {@link heal}. */
  breakWith(mode: FailureMode): void;
  heal(): void;
  /** Present when the service rate-limits; `waitMs` is the wait its answer asks for, if it says. */
  throttle: { waitMs: number | undefined } | undefined;
}
