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

/** sayHello("TOM") as one binary-protocol, unframed CALL with seqid 1. */
export const SAY_HELLO_TOM = Buffer.concat([
  Buffer.from([0x80, 0x01, 0x00, 0x01]),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from('sayHello'),
  Buffer.from([0, 0, 0, 1]),
  Buffer.from([0x0b, 0x00, 0x01, 0, 0, 0, 3]),
  Buffer.from('TOM'),
  Buffer.from([0x00]),
]);

/**
 * A connection to a buffered binary HelloWorld listener that has been answered once (so a worker
 * holds it); what arrives after that first reply is left unread.
 */
export async function answeredConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise((resolve) => {
    socket.once('data', resolve);
    socket.write(SAY_HELLO_TOM);
  });
  return socket;
}
