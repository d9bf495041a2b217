/**
 * A free TCP port on 127.0.0.1, for the servers the bench and the chaos suite start (chaos/
 * imports it from here, as it does bench/lib/thrift-messages.mjs).
 */
import net from 'node:net';

/** A free TCP port on 127.0.0.1 (bound, read, closed again before it is returned). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
