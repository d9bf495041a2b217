/**
 * A connection that counts the bytes it receives, for callers that know where a reply ends by
 * its length (bench/decode-scaling.mjs; chaos/fuzz.mjs pings with it): no decoding on the
 * client's side, so the client costs next to nothing.
 */
import net from 'node:net';

/**
 * Connects to 127.0.0.1:`port` (no Nagle). `received` counts the bytes received (a caller may
 * reset it), `closed` turns true when the connection closes; `until(check, timeoutMs)` resolves
 * `check()` once it holds or the connection has closed, or false after `timeoutMs`.
 * @returns {{ socket: net.Socket, received: number, closed: boolean,
 *   until(check: () => boolean, timeoutMs: number): Promise<boolean> }}
 */
export function countingSocket(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let wake = () => {};
  const conn = {
    socket,
    received: 0,
    closed: false,
    until(check, timeoutMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        wake = () => {
          if (check() || conn.closed) {
            clearTimeout(timer);
            resolve(check());
          }
        };
        wake();
      });
    },
  };
  socket.on('data', (d) => {
    conn.received += d.length;
    wake();
  });
  socket.on('error', () => {});
  socket.on('connect', () => wake());
  socket.on('close', () => {
    conn.closed = true;
    wake();
  });
  return conn;
}
