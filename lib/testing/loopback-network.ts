import { isIP, connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import { isPlainLoopback } from '../ip-policy.js';

/**
 * Test doubles for the URL guard that keep every packet on this machine even if the guard is
 * broken: host names resolve from a table (never real DNS) and the connect function refuses to
 * dial anything but 127.0.0.0/8 or ::1, recording each attempt, so a regression fails the test
 * instead of reaching the network.
 */
export function loopbackOnlyNetwork(table: Record<string, string | string[]>) {
  const dialled: string[] = [];
  const lookups: string[] = [];
  const lookup: LookupFunction = (hostname, _options, callback) => {
    lookups.push(hostname);
    const entry = table[hostname.toLowerCase()];
    if (entry === undefined) {
      const err = Object.assign(new Error(`test lookup: ${hostname} is not in the table`), { code: 'ENOTFOUND' });
      return process.nextTick(() => callback(err, []));
    }
    const addresses = (Array.isArray(entry) ? entry : [entry]).map((address) => ({ address, family: isIP(address) }));
    process.nextTick(() => callback(null, addresses));
  };
  const connect = (opts: { host: string; port: number; family: number }): Socket => {
    dialled.push(opts.host);
    if (!isPlainLoopback(opts.host)) throw new Error(`test network: refusing to dial ${opts.host}, which is not loopback`);
    return netConnect({ host: opts.host, port: opts.port, family: opts.family });
  };
  return { lookup, connect, dialled, lookups };
}

/**
 * A self-signed certificate for `images.example.com` (EC P-256, valid until 2126), so a test can
 * serve HTTPS on loopback. No trust store knows it: a client must refuse it.
 */
export const SELF_SIGNED_TLS = {
  cert: `-----BEGIN CERTIFICATE-----
MIIBsTCCAVagAwIBAgIUfq1jC5raIa9G2Fyp4uZLqzJmMlswCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaW1hZ2VzLmV4YW1wbGUuY29tMCAXDTI2MTEyODA4MTAzM1oY
DzIxMjYxMTA0MDgxMDMzWjAdMRswGQYDVQQDDBJpbWFnZXMuZXhhbXBsZS5jb20w
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQaWEqPJeVDdlMRA3LdwuUfyWR5vx2V
aec9GEqWr3idKZ6yp4y0REh86n//Rej/LcmvoIzE+k4a0BMpdLWXppa4o3IwcDAd
BgNVHQ4EFgQU9ArruAXOe1yLrcp4moagHhWirP4wHwYDVR0jBBgwFoAU9ArruAXO
e1yLrcp4moagHhWirP4wDwYDVR0TAQH/BAUwAwEB/zAdBgNVHREEFjAUghJpbWFn
ZXMuZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSQAwRgIhAKlBMbOXHKSisEWPxRoE
tH3F5SQOVegzRYMieuvKbls3AiEAiU/eAsDprctih8yVLyY2d/2OEDIlWqxk/uMD
8dmp3pM=
-----END CERTIFICATE-----
`,
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglsQeAifi539wpgX+
JniQDSq7C2gx9Mpgk/0KepzAYnChRANCAAQaWEqPJeVDdlMRA3LdwuUfyWR5vx2V
aec9GEqWr3idKZ6yp4y0REh86n//Rej/LcmvoIzE+k4a0BMpdLWXppa4
-----END PRIVATE KEY-----
`,
};
