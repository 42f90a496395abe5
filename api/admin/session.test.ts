import { describe, expect, it } from 'vitest';
import { adminSessions, readCookie, sessionCookie, type SessionRegistry } from './session.js';

const KEY = 'admin-key-for-session-tests-0123456789';

/** The registry as a set (Redis in the service; the e2e admin test runs that one). */
function memoryRegistry(): SessionRegistry & { ids: Set<string> } {
  const ids = new Set<string>();
  return { ids, add: async (id) => void ids.add(id), has: async (id) => ids.has(id), remove: async (id) => void ids.delete(id) };
}

describe('admin sessions', () => {
  const now = Date.UTC(2026, 0, 1);

  it('accepts a cookie it issued until it expires, then refuses it', async () => {
    const sessions = adminSessions(KEY, 900, memoryRegistry());
    const { value, expiresAt } = await sessions.issue(now);
    expect(expiresAt.getTime()).toBe(now + 900_000);
    expect(await sessions.verify(value, now)).toBe(true);
    expect(await sessions.verify(value, now + 899_000)).toBe(true);
    expect(await sessions.verify(value, now + 900_000)).toBe(false);
  });

  it('refuses a revoked cookie, and only that one', async () => {
    const registry = memoryRegistry();
    const sessions = adminSessions(KEY, 900, registry);
    const a = await sessions.issue(now);
    const b = await sessions.issue(now);
    expect(a.value).not.toBe(b.value);
    await sessions.revoke(a.value);
    expect(await sessions.verify(a.value, now)).toBe(false);
    expect(await sessions.verify(b.value, now)).toBe(true);
    // Junk or a forged value revokes nothing.
    // The altered value changes its last character to one it cannot already be.
    const altered = `${b.value.slice(0, -1)}${b.value.endsWith('A') ? 'B' : 'A'}`;
    for (const junk of [undefined, '', 'v2.1.x.y', altered]) await sessions.revoke(junk);
    expect(registry.ids.size).toBe(1);
  });

  it('refuses a forged, altered or foreign cookie', async () => {
    const sessions = adminSessions(KEY, 900, memoryRegistry());
    const { value } = await sessions.issue(now);
    const [version, exp, id, mac] = value.split('.');
    // A later expiry with the old signature.
    expect(await sessions.verify(`${version}.${Number(exp) + 3600}.${id}.${mac}`, now)).toBe(false);
    // A signature flipped in one character.
    const flipped = mac!.startsWith('A') ? `B${mac!.slice(1)}` : `A${mac!.slice(1)}`;
    expect(await sessions.verify(`${version}.${exp}.${id}.${flipped}`, now)).toBe(false);
    // Signed under another admin key: changing the key ends every session.
    expect(await adminSessions(`${KEY}-rotated`, 900, memoryRegistry()).verify(value, now)).toBe(false);
    for (const junk of [undefined, '', 'v2', 'v2.1.x', `${value}.extra`, 'v1.1.abc']) expect(await sessions.verify(junk, now)).toBe(false);
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
