import { describe, expect, it } from 'vitest';
import { adminSessions, readCookie, sessionCookie } from './session.js';

const KEY = 'admin-key-for-session-tests-0123456789';

describe('admin sessions', () => {
  const now = Date.UTC(2026, 0, 1);

  it('accepts a cookie it issued until it expires, then refuses it', () => {
    const sessions = adminSessions(KEY, 900);
    const { value, expiresAt } = sessions.issue(now);
    expect(expiresAt.getTime()).toBe(now + 900_000);
    expect(sessions.verify(value, now)).toBe(true);
    expect(sessions.verify(value, now + 899_000)).toBe(true);
    expect(sessions.verify(value, now + 900_000)).toBe(false);
  });

  it('refuses a forged, altered or foreign cookie', () => {
    const sessions = adminSessions(KEY, 900);
    const { value } = sessions.issue(now);
    const [version, exp, mac] = value.split('.');
    // A later expiry with the old signature.
    expect(sessions.verify(`${version}.${Number(exp) + 3600}.${mac}`, now)).toBe(false);
    // A signature flipped in one character.
    const flipped = mac!.startsWith('A') ? `B${mac!.slice(1)}` : `A${mac!.slice(1)}`;
    expect(sessions.verify(`${version}.${exp}.${flipped}`, now)).toBe(false);
    // Signed under another admin key: changing the key ends every session.
    expect(adminSessions(`${KEY}-rotated`, 900).verify(value, now)).toBe(false);
    for (const junk of [undefined, '', 'v1', 'v1.1.x', `${value}.extra`, 'v2.1.abc']) expect(sessions.verify(junk, now)).toBe(false);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(readCookie('a=1; pipeline_admin=v1.2.x; b=3', 'pipeline_admin')).toBe('v1.2.x');
    expect(readCookie('pipeline_admin_other=1', 'pipeline_admin')).toBeUndefined();
    expect(readCookie(undefined, 'pipeline_admin')).toBeUndefined();
  });

  it('sets HttpOnly, SameSite=Strict, the admin path, and Secure only on https', () => {
    const plain = sessionCookie('v', 900, false);
    expect(plain).toBe('pipeline_admin=v; Path=/admin; Max-Age=900; HttpOnly; SameSite=Strict');
    expect(sessionCookie('v', 900, true)).toMatch(/; Secure$/);
  });
});
