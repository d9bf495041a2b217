/**
 * A connection the cluster primary hands over just as a reload starts draining the worker is
 * handed off like the others (with the bytes it already sent), not destroyed under its client.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServer, waitFor } from './helpers/in-process-server.js';

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
});
