/**
 * A connection the cluster primary hands over just as the worker starts draining is not
 * destroyed under its client: during a reload it is handed off like the others (with the bytes
 * it already sent); during a stop its call is answered before it is closed, and one that has
 * sent nothing yet is given a moment to send its first call.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { rawClient, startServer, waitFor } from './helpers/in-process-server.js';

/** A listener standing in for the cluster primary's accept; its accepted sockets. */
async function frontListener(): Promise<{ port: number; accepted: net.Socket[]; close(): void }> {
  const accepted: net.Socket[] = [];
  const front = net.createServer({ allowHalfOpen: true }, (s) => accepted.push(s));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return { port: (front.address() as net.AddressInfo).port, accepted, close: () => front.close() };
}

describe('draining worker', () => {
  it('hands off a connection adopted after the drain began', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    const handedOff: { socket: net.Socket; unread: Buffer }[] = [];
    void host.server.drain(5000, (socket, unread) => handedOff.push({ socket, unread }));

    // A second listener stands in for the cluster primary's accept.
    const accepted: net.Socket[] = [];
    const front = net.createServer({ allowHalfOpen: true }, (s) => accepted.push(s));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const client = net.connect((front.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    let clientClosed = false;
    client.on('close', () => {
      clientClosed = true;
    });
    client.write(Buffer.from('early-bytes'));
    await waitFor(() => accepted.length === 1);
    await waitFor(() => accepted[0]!.readableLength === 11, 2000, 'the early bytes to arrive');

    host.server.adopt(accepted[0]!);
    await waitFor(() => handedOff.length === 1, 2000, 'the hand-off');
    expect(handedOff[0]!.unread.toString()).toBe('early-bytes');
    expect(clientClosed).toBe(false);

    handedOff[0]!.socket.destroy();
    client.destroy();
    front.close();
    host.close();
  });

  it('answers the call of a connection adopted after a stop began, then closes it', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    const drained = host.server.drain(10_000);
    const front = await frontListener();
    const { client, connection, close } = rawClient('HelloWorld', front.port);
    // The socket under Apache's connection (its own 'close' may turn into a reconnect).
    const socket = (connection as unknown as { connection: net.Socket }).connection;
    let serverEnded = false;
    socket.on('end', () => {
      serverEnded = true;
    });
    const reply = client.sayHello('late');
    await waitFor(() => front.accepted.length === 1 && front.accepted[0]!.readableLength > 0, 2000, 'the call to arrive');

    host.server.adopt(front.accepted[0]!);
    expect(await reply).toMatch(/late/);
    await waitFor(() => serverEnded, 2000, 'the worker to end the connection once idle');
    await drained;
    close();
    front.close();
    host.close();
  });

  it('closes a connection adopted during a stop that sends nothing, after a grace for its first call', async () => {
    const host = await startServer({ service: 'HelloWorld' });
    const drained = host.server.drain(10_000);
    const front = await frontListener();
    const client = net.connect(front.port, '127.0.0.1');
    client.on('error', () => {});
    let closedAt = 0;
    client.on('close', () => {
      closedAt = Date.now();
    });
    client.resume();
    await waitFor(() => front.accepted.length === 1, 2000, 'the connection');
    const adoptedAt = Date.now();
    host.server.adopt(front.accepted[0]!);
    await waitFor(() => closedAt > 0, 3000, 'the silent connection to be closed');
    // It was not closed at once: the idle grace ran (250 ms; timers fire no earlier).
    expect(closedAt - adoptedAt).toBeGreaterThanOrEqual(240);
    await drained;
    front.close();
    host.close();
  });
});
