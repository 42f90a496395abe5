import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Name of the cookie that carries an operator's admin session. */
export const SESSION_COOKIE = 'pipeline_admin';
/** The cookie is sent to the admin routes only (the board and the session route), never to /v1. */
export const SESSION_COOKIE_PATH = '/admin';

/**
 * Admin sessions: the cookie holds a random session id, its expiry and an HMAC over both (so a
 * forged or altered cookie is refused without a Redis round trip); the id must also still be in
 * the registry, so signing out (`revoke`) ends the session on the server, not only in the browser
 * that asked. The HMAC key is derived from the admin API key: changing that key ends every session.
 */
export interface AdminSessions {
  /** A fresh cookie value, registered until it expires. */
  issue(now?: number): Promise<{ value: string; expiresAt: Date }>;
  /** True when the value is one we signed, it has not expired and it was not revoked. */
  verify(value: string | undefined, now?: number): Promise<boolean>;
  /** End the session a cookie value names (anything else is ignored). */
  revoke(value: string | undefined): Promise<void>;
}

/** Where live session ids are kept, each until its expiry (Redis in the service). */
export interface SessionRegistry {
  add(id: string, ttlMs: number): Promise<void>;
  has(id: string): Promise<boolean>;
  remove(id: string): Promise<void>;
}

/** The three Redis commands the registry uses (a single node or a cluster). */
export interface SessionRedis {
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  exists(key: string): Promise<number>;
  del(key: string): Promise<number>;
}

/** Live session ids as Redis keys that expire with the session: every API process sees a sign-out at once. */
export function redisSessionRegistry(redis: SessionRedis, prefix: string): SessionRegistry {
  const key = (id: string) => `${prefix}:admin-session:${id}`;
  return {
    add: async (id, ttlMs) => void (await redis.set(key(id), '1', 'PX', Math.max(1, ttlMs))),
    has: async (id) => (await redis.exists(key(id))) === 1,
    remove: async (id) => void (await redis.del(key(id))),
  };
}

const VERSION = 'v2';
const FORMAT = /^(v2\.(\d{1,12})\.([A-Za-z0-9_-]{22}))\.([A-Za-z0-9_-]{43})$/;

export function adminSessions(adminKey: string, ttlSeconds: number, registry: SessionRegistry): AdminSessions {
  const secret = createHmac('sha256', adminKey).update('admin-session-cookie').digest();
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
  /** The session id of a value we signed and that has not expired; undefined otherwise. */
  const signedId = (value: string | undefined, now: number): string | undefined => {
    const match = value ? FORMAT.exec(value) : null;
    if (!match) return undefined;
    const expected = Buffer.from(sign(match[1]!));
    const given = Buffer.from(match[4]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    return Number(match[2]) * 1000 > now ? match[3]! : undefined;
  };
  return {
    async issue(now = Date.now()) {
      const expiresAt = new Date(now + ttlSeconds * 1000);
      const id = randomBytes(16).toString('base64url');
      const payload = `${VERSION}.${Math.floor(expiresAt.getTime() / 1000)}.${id}`;
      await registry.add(id, expiresAt.getTime() - now);
      return { value: `${payload}.${sign(payload)}`, expiresAt };
    },
    async verify(value, now = Date.now()) {
      const id = signedId(value, now);
      return id !== undefined && (await registry.has(id));
    },
    async revoke(value) {
      const id = signedId(value, 0);
      if (id !== undefined) await registry.remove(id);
    },
  };
}

/** The value of one cookie in a `Cookie` request header (no dependency needed for one cookie). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value: HttpOnly (no script reads it), SameSite=Strict (no cross-site sends), Secure on https. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${SESSION_COOKIE_PATH}`,
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
