/**
 * Test helper: a TCP relay on 127.0.0.1 that records the bytes crossing it, so a test can check
 * what a peer it did not write sent, and what the host answered it.
 */
import net from 'node:net';

/** A relay to one port; the bytes of each connection, in arrival order. */
export interface WireTap {
  port: number;
  /** Per connection: what the peer sent, then what came back. */
  readonly connections: { sent: Buffer; received: Buffer }[];
  close(): Promise<void>;
}

/** Starts a relay to `127.0.0.1:targetPort` on a free port. */
export async function wireTap(targetPort: number): Promise<WireTap> {
  const connections: { sent: Buffer; received: Buffer }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((peer) => {
    const record = { sent: Buffer.alloc(0), received: Buffer.alloc(0) };
    connections.push(record);
    const host = net.connect(targetPort, '127.0.0.1');
    for (const s of [peer, host]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        peer.destroy();
        host.destroy();
      });
    }
    peer.on('data', (c: Buffer) => {
      record.sent = Buffer.concat([record.sent, c]);
      host.write(c);
    });
    host.on('data', (c: Buffer) => {
      record.received = Buffer.concat([record.received, c]);
      peer.write(c);
    });
    peer.on('end', () => host.end());
    host.on('end', () => peer.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
