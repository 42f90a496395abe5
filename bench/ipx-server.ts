/**
 * ipx (the image server behind Nuxt Image) as the on-demand benchmark's peer: its own Node
 * process, serving the files of one folder with its stock settings, as `npx ipx serve --dir`
 * would. Prints `{"port":N}` once listening.
 *
 *   tsx bench/ipx-server.ts <folder>
 */
import { createServer } from 'node:http';
import { createIPX, createIPXNodeServer, ipxFSStorage } from 'ipx';

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/ipx-server.ts <folder>');

const server = createServer(createIPXNodeServer(createIPX({ storage: ipxFSStorage({ dir }) })));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
