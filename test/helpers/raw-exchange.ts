/**
 * Test helper: sends raw bytes to a listener on 127.0.0.1 and collects what comes back until the
 * server closes the connection (or `timeoutMs` passes), for tests of bad and hostile input.
 */
import net from 'node:net';

/** Connects, sends `bytes` (optionally half-closing), and resolves with what came back once closed. */
export function exchange(
  port: number,
  bytes: Buffer,
  { end = false, timeoutMs = 5000 } = {},
): Promise<{ reply: Buffer; closedBy: 'server' | 'timeout' }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks), closedBy: 'timeout' });
    }, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), closedBy: 'server' });
    });
    socket.write(bytes);
    if (end) socket.end();
  });
}
