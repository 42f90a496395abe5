import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the cookie that carries an operator's admin session. */
export const SESSION_COOKIE = 'pipeline_admin';
/** The cookie is sent to the admin routes only (the board and the session route), never to /v1. */
export const SESSION_COOKIE_PATH = '/admin';

/**
 * Signed, stateless admin sessions: the cookie holds its own expiry and an HMAC over it. The HMAC
 * key is derived from the admin API key, so changing that key ends every session at once, and no
 * session store is needed in Redis.
 */
export interface AdminSessions {
  /** A fresh cookie value and when it expires. */
  issue(now?: number): { value: string; expiresAt: Date };
  /** True when the value is one we signed and it has not expired. */
  verify(value: string | undefined, now?: number): boolean;
}

const VERSION = 'v1';

export function adminSessions(adminKey: string, ttlSeconds: number): AdminSessions {
  const secret = createHmac('sha256', adminKey).update('admin-session-cookie').digest();
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
  return {
    issue(now = Date.now()) {
      const expiresAt = new Date(now + ttlSeconds * 1000);
      const payload = `${VERSION}.${Math.floor(expiresAt.getTime() / 1000)}`;
      return { value: `${payload}.${sign(payload)}`, expiresAt };
    },
    verify(value, now = Date.now()) {
      const match = value ? /^(v1\.(\d{1,12}))\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
      if (!match) return false;
      const expected = Buffer.from(sign(match[1]!));
      const given = Buffer.from(match[3]!);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
      return Number(match[2]) * 1000 > now;
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
