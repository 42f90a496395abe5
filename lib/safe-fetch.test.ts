import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { fetchPublicUrl, postToPublicUrl, checkPublicUrl } from './safe-fetch.js';
import { loopbackOnlyNetwork, SELF_SIGNED_TLS } from './testing/loopback-network.js';

const fish = await readFile(new URL('../test/fixtures/HappyFish.jpg', import.meta.url));

/** A test origin on 127.0.0.1; every request it sees is recorded. */
let server: Server;
let port = 0;
const seen: string[] = [];
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/fish.jpg': (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(fish),
  '/page.png': (_q, res) => res.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>'),
  '/relative': (_q, res) => res.writeHead(302, { location: '/fish.jpg' }).end(),
  '/to-loopback-ip': (_q, res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/fish.jpg` }).end(),
  '/to-private-name': (_q, res) => res.writeHead(301, { location: `http://intranet.test:${port}/fish.jpg` }).end(),
  '/to-metadata': (_q, res) => res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/to-mapped': (_q, res) => res.writeHead(308, { location: `http://[::ffff:7f00:1]:${port}/fish.jpg` }).end(),
  '/to-file': (_q, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
  '/loop': (_q, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/missing': (_q, res) => res.writeHead(404).end('no'),
  '/big-declared': (_q, res) => res.writeHead(200, { 'content-length': String(200_000) }).end(Buffer.alloc(200_000)),
  '/big-chunked': (_q, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024);
    let sent = 0;
    const more = () => {
      while (sent < 1_000_000 && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once('drain', more);
      }
      res.end();
    };
    more();
  },
  '/hang': () => undefined,
  '/stall': (_q, res) => {
    res.writeHead(200, { 'content-length': String(fish.length) });
    res.write(fish.subarray(0, 100));
  },
  '/hook': (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(201).end(`got ${req.method} ${body} ${'x'.repeat(5000)}`));
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    (routes[req.url ?? ''] ?? ((_q, r: ServerResponse) => r.writeHead(404).end()))(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Public-looking names the test network resolves; only `images.example.com` may reach loopback. */
const network = () =>
  loopbackOnlyNetwork({
    'images.example.com': '127.0.0.1',
    'intranet.test': '10.1.2.3',
    'loop.test': '127.0.0.1',
    'mixed.test': ['93.184.216.34', '10.0.0.7'],
  });
const allowImagesHost = (host: string) => host === 'images.example.com';

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the fetch should have been refused').toBeInstanceOf(AppError);
  return err as AppError;
}

describe('fetchPublicUrl refuses every non-public address class', () => {
  // Each case: a host name the test lookup resolves to one forbidden address, and the class named.
  const cases: Array<[string, string, string, string?]> = [
    ['loopback', '127.0.0.1', 'loopback'],
    ['loopback, elsewhere in 127/8', '127.45.6.7', 'loopback'],
    ['IPv6 loopback', '::1', 'loopback'],
    ['private 10/8', '10.0.0.1', 'private'],
    ['private 172.16/12', '172.31.255.1', 'private'],
    ['private 192.168/16', '192.168.1.20', 'private'],
    ['IPv6 unique local fc00::/7', 'fd12:3456::1', 'private'],
    ['link-local', '169.254.10.10', 'link-local'],
    ['IPv6 link-local', 'fe80::1', 'link-local'],
    ['CGNAT 100.64/10', '100.64.0.1', 'cgnat'],
    ['AWS/GCP metadata', '169.254.169.254', 'metadata'],
    ['AWS metadata over IPv6', 'fd00:ec2::254', 'metadata'],
    ['unspecified', '0.0.0.0', 'unspecified'],
    ['IPv6 unspecified', '::', 'unspecified'],
    ['multicast', '224.0.0.251', 'multicast'],
    ['IPv6 multicast', 'ff02::1', 'multicast'],
    ['broadcast', '255.255.255.255', 'multicast'],
    ['reserved 240/4', '240.0.0.1', 'reserved'],
    ['documentation 192.0.2/24', '192.0.2.1', 'reserved'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1', 'loopback', 'ipv4-mapped'],
    ['IPv4-mapped loopback, hex form', '::ffff:7f00:1', 'loopback', 'ipv4-mapped'],
    ['IPv4-mapped metadata', '::ffff:169.254.169.254', 'metadata', 'ipv4-mapped'],
    ['IPv4-compatible loopback', '::127.0.0.1', 'loopback', 'ipv4-compatible'],
    ['NAT64 of loopback', '64:ff9b::7f00:1', 'loopback', 'nat64'],
    ['NAT64 of private', '64:ff9b::10.0.0.1', 'private', 'nat64'],
    ['6to4 of loopback', '2002:7f00:1::1', 'loopback', '6to4'],
  ];

  for (const [label, address, addressClass, via] of cases) {
    it(`${label}: ${address}, by name and as a literal`, async () => {
      const net = loopbackOnlyNetwork({ 'victim.test': address });
      const byName = await refusal(fetchPublicUrl(`http://victim.test:${port}/fish.jpg`, net));
      expect(byName.code).toBe('URL_FORBIDDEN');
      expect(byName.status).toBe(422);
      expect(byName.details).toMatchObject({ addressClass, ...(via ? { via } : {}) });
      expect(byName.message).toMatch(/only public addresses/);
      const host = address.includes(':') ? `[${address}]` : address;
      const literal = await refusal(fetchPublicUrl(`http://${host}:${port}/fish.jpg`, net));
      expect(literal.details).toMatchObject({ addressClass });
      expect(net.dialled).toEqual([]);
    });
  }

  it('refuses metadata host names before any lookup', async () => {
    const net = network();
    for (const name of ['metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'localhost', 'shop.localhost']) {
      const err = await refusal(fetchPublicUrl(`http://${name}/x`, net));
      expect(err.code).toBe('URL_FORBIDDEN');
    }
    expect(net.lookups).toEqual([]);
    expect(net.dialled).toEqual([]);
  });

  it('refuses the odd spellings of 127.0.0.1 that URL parsing normalises', async () => {
    const net = network();
    for (const url of [
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://127.1/',
      'http://0177.0.0.1/',
      'http://[0:0:0:0:0:ffff:127.0.0.1]/',
    ]) {
      expect((await refusal(fetchPublicUrl(url, net))).details).toMatchObject({ addressClass: 'loopback' });
    }
    expect(net.dialled).toEqual([]);
  });

  it('refuses a name when any of its addresses is forbidden', async () => {
    const net = network();
    expect((await refusal(fetchPublicUrl('http://mixed.test/x', net))).details).toMatchObject({ addressClass: 'private' });
    expect(net.dialled).toEqual([]);
  });

  it('refuses loopback unless the caller allows it, and then only for the hosts it names', async () => {
    const net = network();
    expect((await refusal(fetchPublicUrl(`http://loop.test:${port}/fish.jpg`, net))).code).toBe('URL_FORBIDDEN');
    const err = await refusal(fetchPublicUrl(`http://loop.test:${port}/fish.jpg`, { ...net, allowLoopbackForTests: allowImagesHost }));
    expect(err.code).toBe('URL_FORBIDDEN');
    // Allowing loopback never allows another class.
    const priv = await refusal(fetchPublicUrl(`http://intranet.test:${port}/fish.jpg`, { ...net, allowLoopbackForTests: true }));
    expect(priv.details).toMatchObject({ addressClass: 'private' });
    expect(net.dialled).toEqual([]);
  });

  it('refuses other schemes and URLs with credentials', async () => {
    const net = network();
    for (const url of [
      'file:///etc/passwd',
      'ftp://images.example.com/a.jpg',
      'gopher://images.example.com:70/',
      'data:image/png;base64,AAAA',
      'not a url',
    ]) {
      expect((await refusal(fetchPublicUrl(url, net))).code).toBe('URL_FORBIDDEN');
    }
    expect(
      (await refusal(fetchPublicUrl(`http://user:pw@images.example.com:${port}/fish.jpg`, { ...net, allowLoopbackForTests: true }))).code,
    ).toBe('URL_FORBIDDEN');
    expect(net.dialled).toEqual([]);
  });
});

describe('fetchPublicUrl at connect time and on redirects', () => {
  it('fetches from an allowed host and sniffs the type from the bytes, not the header', async () => {
    const net = network();
    const got = await fetchPublicUrl(`http://images.example.com:${port}/fish.jpg`, { ...net, allowLoopbackForTests: allowImagesHost });
    expect(got.bytes.equals(fish)).toBe(true);
    expect(got.contentType).toBe('image/jpeg');
    expect(got.finalUrl).toBe(`http://images.example.com:${port}/fish.jpg`);
    const page = await fetchPublicUrl(`http://images.example.com:${port}/page.png`, { ...net, allowLoopbackForTests: allowImagesHost });
    expect(page.contentType).toBe('application/octet-stream');
    expect(net.dialled.every((a) => a === '127.0.0.1')).toBe(true);
  });

  it('follows a relative redirect on the same allowed host', async () => {
    const got = await fetchPublicUrl(`http://images.example.com:${port}/relative`, {
      ...network(),
      allowLoopbackForTests: allowImagesHost,
    });
    expect(got.finalUrl).toBe(`http://images.example.com:${port}/fish.jpg`);
    expect(got.bytes.equals(fish)).toBe(true);
  });

  it('refuses a redirect from an allowed public-looking host to http://127.0.0.1, before requesting it', async () => {
    const net = network();
    seen.length = 0;
    const err = await refusal(
      fetchPublicUrl(`http://images.example.com:${port}/to-loopback-ip`, { ...net, allowLoopbackForTests: allowImagesHost }),
    );
    expect(err.code).toBe('URL_FORBIDDEN');
    expect(err.message).toMatch(/^Redirect 1 refused: 127\.0\.0\.1:\d+ is a loopback address/);
    expect(err.details).toMatchObject({ host: '127.0.0.1', addressClass: 'loopback' });
    expect(seen).toEqual(['/to-loopback-ip']);
    expect(net.dialled).toEqual(['127.0.0.1']);
  });

  it('refuses redirects to a private name, the metadata address, a mapped address and a file URL', async () => {
    const expectations: Array<[string, Record<string, unknown>]> = [
      ['/to-private-name', { addressClass: 'private', host: 'intranet.test' }],
      ['/to-metadata', { addressClass: 'metadata' }],
      ['/to-mapped', { addressClass: 'loopback', via: 'ipv4-mapped' }],
      ['/to-file', { scheme: 'file' }],
    ];
    for (const [path, details] of expectations) {
      const net = network();
      const err = await refusal(
        fetchPublicUrl(`http://images.example.com:${port}${path}`, { ...net, allowLoopbackForTests: allowImagesHost }),
      );
      expect(err.code).toBe('URL_FORBIDDEN');
      expect(err.details).toMatchObject(details);
      expect(net.dialled).toEqual(['127.0.0.1']);
    }
  });

  it('connects to the address it checked: a rebinding second answer is never asked for', async () => {
    // First answer public, every later one loopback: a guard that looked up again would connect to loopback.
    const table = loopbackOnlyNetwork({ 'public.test': '93.184.216.34', 'loop.test': '127.0.0.1' });
    let calls = 0;
    const err = await refusal(
      fetchPublicUrl('http://rebind.test/fish.jpg', {
        lookup: (_host, options, callback) => table.lookup(++calls === 1 ? 'public.test' : 'loop.test', options, callback),
        connect: table.connect,
      }),
    );
    expect(calls).toBe(1);
    // The test network refused to dial the public address: the checked address, not a fresh answer, was used.
    expect(table.dialled).toEqual(['93.184.216.34']);
    expect(err.code).toBe('URL_FETCH_FAILED');
  });

  it('stops after the redirect limit', async () => {
    const err = await refusal(
      fetchPublicUrl(`http://images.example.com:${port}/loop`, { ...network(), allowLoopbackForTests: allowImagesHost, maxRedirects: 3 }),
    );
    expect(err.code).toBe('URL_FETCH_FAILED');
    expect(err.details).toMatchObject({ maxRedirects: 3 });
  });

  it('answers a far-side 404 with a permanent URL_FETCH_FAILED', async () => {
    const err = await refusal(
      fetchPublicUrl(`http://images.example.com:${port}/missing`, { ...network(), allowLoopbackForTests: allowImagesHost }),
    );
    expect(err).toMatchObject({ code: 'URL_FETCH_FAILED', status: 422, details: { upstreamStatus: 404 } });
  });

  it('refuses bodies over the limit, declared or streamed', async () => {
    const options = { ...network(), allowLoopbackForTests: allowImagesHost, maxBytes: 100_000 };
    const declared = await refusal(fetchPublicUrl(`http://images.example.com:${port}/big-declared`, options));
    expect(declared).toMatchObject({ code: 'URL_TOO_LARGE', status: 413, details: { maxBytes: 100_000 } });
    const streamed = await refusal(fetchPublicUrl(`http://images.example.com:${port}/big-chunked`, options));
    expect(streamed).toMatchObject({ code: 'URL_TOO_LARGE', status: 413 });
  });

  it('gives up after the time limit', async () => {
    const err = await refusal(
      fetchPublicUrl(`http://images.example.com:${port}/hang`, { ...network(), allowLoopbackForTests: allowImagesHost, timeoutMs: 300 }),
    );
    expect(err).toMatchObject({ code: 'URL_TIMEOUT', status: 504, details: { timeoutMs: 300 } });
    const stalled = await refusal(
      fetchPublicUrl(`http://images.example.com:${port}/stall`, { ...network(), allowLoopbackForTests: allowImagesHost, timeoutMs: 300 }),
    );
    expect(stalled).toMatchObject({ code: 'URL_TIMEOUT', status: 504 });
  });

  it('speaks TLS to https URLs, naming the host (SNI), and refuses a certificate nobody trusts', async () => {
    const names: string[] = [];
    let served = 0;
    const tls = createTlsServer(
      {
        ...SELF_SIGNED_TLS,
        SNICallback: (name, done) => {
          names.push(name);
          done(null);
        },
      },
      (_q, res) => {
        served++;
        res.end(fish);
      },
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const tlsPort = (tls.address() as { port: number }).port;
    try {
      const err = await refusal(
        fetchPublicUrl(`https://images.example.com:${tlsPort}/fish.jpg`, { ...network(), allowLoopbackForTests: allowImagesHost }),
      );
      expect(err.code).toBe('URL_FETCH_FAILED');
      expect(err.details).toMatchObject({ cause: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect(names).toEqual(['images.example.com']);
      expect(served).toBe(0);
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });

  it('reports an unknown host as a fetch failure', async () => {
    const err = await refusal(fetchPublicUrl('http://nowhere.test/x', network()));
    expect(err.code).toBe('URL_FETCH_FAILED');
  });
});

describe('postToPublicUrl and checkPublicUrl', () => {
  it('posts under the same policy and keeps only the first response bytes', async () => {
    const net = network();
    const res = await postToPublicUrl(`http://images.example.com:${port}/hook`, {
      ...net,
      allowLoopbackForTests: allowImagesHost,
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('hello'),
      timeoutMs: 5000,
      keepBytes: 100,
    });
    expect(res.status).toBe(201);
    expect(res.body.toString()).toMatch(/^got POST hello x+$/);
    expect(res.body.length).toBe(100);
    const err = await refusal(
      postToPublicUrl(`http://intranet.test:${port}/hook`, { ...net, headers: {}, body: Buffer.alloc(0), timeoutMs: 5000 }),
    );
    expect(err.details).toMatchObject({ addressClass: 'private' });
    expect(net.dialled).toEqual(['127.0.0.1']);
  });

  it('checks a URL without sending anything', async () => {
    const net = network();
    await expect(
      checkPublicUrl(`http://images.example.com:${port}/hook`, { ...net, allowLoopbackForTests: allowImagesHost }),
    ).resolves.toBeInstanceOf(URL);
    expect((await refusal(checkPublicUrl('http://[fd00:ec2::254]/', net))).details).toMatchObject({ addressClass: 'metadata' });
    expect(net.dialled).toEqual([]);
  });
});
