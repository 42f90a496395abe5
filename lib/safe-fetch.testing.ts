import { isIP, connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import { isPlainLoopback } from './ip-policy.js';

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
