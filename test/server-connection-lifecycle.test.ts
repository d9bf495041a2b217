/**
 * A server connection's life past the plain call: half-close, retire with hand-off, input in
 * pieces, closing when idle; each shown with real sockets on 127.0.0.1.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGeneratedService } from '../src/codec/generated-service.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { ROOT, startServer, waitFor } from './helpers/in-process-server.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const catalog = loadGeneratedService(path.join(ROOT, 'gen'), 'Catalog');
const argsOf = (m: string, a: object) => new (catalog.methods.get(m)!.Args as any)(a);

/** A Catalog handler whose oneway `touch` finishes after `touchDelayMs`. */
function slowTouchHandler(touchDelayMs: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-conn-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'handler.js');
  fs.writeFileSync(
    file,
    `const base = require(${JSON.stringify(path.join(ROOT, 'services', 'Catalog', 'handler.js'))});
class H extends base.CatalogHandler {
  touch() { return new Promise((r) => setTimeout(r, ${touchDelayMs})); }
}
exports.CatalogHandler = H;
`,
  );
  return file;
}

/** Binary, unframed encoding of one call. */
function encode(name: string, type: number, args: object, seqid: number): Buffer {
  let out: Buffer | undefined;
  const wb = new WriteBuffer(false, (m) => {
    out = Buffer.from(m);
  });
  const proto = new thrift.TBinaryProtocol(wb as never);
  proto.writeMessageBegin(name, type, seqid);
  (args as { write(p: unknown): void }).write(proto);
  proto.writeMessageEnd();
  proto.flush();
  return out!;
}

describe('ServerConnection half-close', () => {
  it('closes a half-closed connection once its last oneway call finishes', async () => {
    const host = await startServer({ service: 'Catalog', handler: slowTouchHandler(100) });
    cleanups.push(host.close);
    const touch = encode(
      'touch',
      thrift.Thrift.MessageType.ONEWAY,
      argsOf('touch', { id: new thrift.Int64(7) }),
      1,
    );
    const closedBy = await new Promise<string>((resolve) => {
      const socket = net.connect(host.port, '127.0.0.1');
      cleanups.push(() => socket.destroy());
      const timer = setTimeout(() => resolve('timeout'), 3000);
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.on('end', () => {
        clearTimeout(timer);
        resolve('server');
      });
      socket.end(touch);
    });
    expect(closedBy).toBe('server');
  });
});

describe('ServerConnection retire', () => {
  it('hands off a retiring connection once a reply that went out asynchronously is written', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    const client = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    client.on('error', () => {});
    client.pause(); // the peer reads nothing for now: the kernel buffers fill up
    await new Promise((r) => client.once('connect', r));
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    await waitFor(() => connections.size === 1);
    const conn = [...connections][0];
    // Replies below the socket's 16 KiB high-water mark: write() returns true. Stop at the
    // first one the kernel could not take whole, so it is still being written.
    const data = Buffer.alloc(15_000, 0x61);
    for (let i = 1; conn.socket.writableLength === 0; i++) {
      expect(i).toBeLessThan(5000);
      client.write(encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data, delayMs: 0 }), i));
      await waitFor(() => conn.requests === i);
      await new Promise((r) => setImmediate(r));
    }
    let handedOff = false;
    void host.server.drain(10_000, (socket) => {
      handedOff = true;
      socket.destroy();
    });
    client.on('data', () => {});
    client.resume();
    await waitFor(() => handedOff, 3000, 'the hand-off');
  });
});

describe('ServerConnection unframed compact input', () => {
  it('leaves no parser state behind when a message arrives in pieces', async () => {
    const host = await startServer({ service: 'Catalog', protocol: 'compact' });
    cleanups.push(host.close);
    let call: Buffer | undefined;
    const wb = new WriteBuffer(false, (m) => {
      call = Buffer.from(m);
    });
    const proto = new thrift.TCompactProtocol(wb as never);
    proto.writeMessageBegin('put', thrift.Thrift.MessageType.CALL, 1);
    argsOf('put', { item: { id: new thrift.Int64(1), title: 'x'.repeat(100), tags: ['a', 'b'] } }).write(proto);
    proto.writeMessageEnd();
    proto.flush();
    const client = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    client.on('error', () => {});
    client.on('data', () => {});
    await new Promise((r) => client.once('connect', r));
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    await waitFor(() => connections.size === 1);
    const conn = [...connections][0];
    const ROUNDS = 50;
    for (let i = 0; i < ROUNDS; i++) {
      // Split inside the item's title: the first read stops two structs deep.
      client.write(call!.subarray(0, 40));
      // The split read: the server has read the first piece alone and waits for the rest.
      await waitFor(() => conn.splitter.pending === 40, 5000, `round ${i}: the first 40 bytes read alone`);
      client.write(call!.subarray(40));
      await waitFor(() => conn.requests === i + 1);
    }
    expect(conn.pipeline.input.fieldIds.length).toBe(0);
  });
});

describe('ServerConnection closing when idle (drain without hand-off)', () => {
  it('answers a call that had partly arrived before closing', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    const first = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('one'), delayMs: 100 }), 1);
    const second = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('two'), delayMs: 0 }), 2);
    const { client, chunks, closed: ended } = await collectingClient(host.port);
    client.write(first);
    client.write(second.subarray(0, 10));
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    await waitFor(() => connections.size === 1 && [...connections][0].splitter.pending === 10);
    void host.server.drain(5000); // TLS connections and a stopping worker close instead of moving
    await waitFor(() => Buffer.concat(chunks).includes('one'), 5000, 'the first reply');
    expect(client.closed).toBe(false); // still open with the second call part-read
    client.write(second.subarray(10));
    await ended;
    const replies = Buffer.concat(chunks).toString('latin1');
    expect(replies).toContain('one');
    expect(replies).toContain('two');
  });
});

describe('ServerConnection closing when idle under load that never pauses', () => {
  it('answers a client that keeps sending for half the drain timeout, then closes at an idle instant', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    let seqid = 0;
    const next = () =>
      encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('x'), delayMs: 0 }), ++seqid);
    const client = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    client.on('error', () => {});
    let replies = 0;
    // Each reply is answered with the next call at once: the connection is never idle for long.
    client.on('data', () => {
      replies++;
      if (!client.writableEnded) client.write(next());
    });
    let endedAt = 0;
    const ended = new Promise<void>((r) =>
      client.on('end', () => {
        endedAt = Date.now();
        r();
      }),
    );
    await new Promise((r) => client.once('connect', r));
    client.write(next());
    await waitFor(() => replies >= 10);
    const repliesBefore = replies;
    const drainStarted = Date.now();
    const drained = host.server.drain(2000);
    await ended;
    await drained;
    // Kept answering for half the timeout (1000 ms), then closed at an idle instant: not by the
    // drain timeout, which destroys what is left and says so. (990: the worker's timer and
    // Date.now() round differently by up to a millisecond.)
    expect(endedAt - drainStarted).toBeGreaterThanOrEqual(990);
    expect(replies - repliesBefore).toBeGreaterThan(10);
    expect(host.logs.join('')).not.toContain('drain timed out');
  });
});

describe('ServerConnection closing when idle after pausing its reads', () => {
  it('answers every pipelined call, also those read after it paused at MAX_IN_FLIGHT', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    // More pipelined calls than src/worker/server-connection.ts MAX_IN_FLIGHT (1024): the connection stops
    // reading at 1024 in flight, with the rest read but not decoded, or still in the kernel.
    const CALLS = 1100;
    const calls = Buffer.concat(
      Array.from({ length: CALLS }, (_, i) =>
        encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('x'), delayMs: 200 }), i + 1),
      ),
    );
    const client = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    client.on('error', () => {});
    client.on('data', () => {});
    await new Promise((r) => client.once('connect', r));
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    client.write(calls);
    await waitFor(() => connections.size === 1 && [...connections][0].paused === true, 5000, 'reading paused');
    // The stop begins while the connection is paused: the 76 calls behind must still be answered.
    await host.server.drain(5000);
    expect(host.logs.join('')).not.toContain('drain timed out');
    expect(host.server.requests).toBe(CALLS);
  });
});

describe('ServerConnection retiring with hand-off, then told to close (a stop during a reload)', () => {
  it("a stop late in a reload gets its own whole grace, not what is left of the reload's", async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    const first = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('one'), delayMs: 1300 }), 1);
    const second = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('two'), delayMs: 1500 }), 2);
    const { client, chunks, ended } = await collectingClient(host.port);
    client.write(first);
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    await waitFor(() => connections.size === 1 && [...connections][0].inFlight === 1);
    const drainedAt = Date.now();
    // The reload's drain: 2 s, the connection busy so it is not handed off yet.
    void host.server.drain(2000, (socket) => socket.destroy());
    await waitFor(() => Date.now() - drainedAt >= 1200, 5000, 'the reload to be well under way');
    // The stop, 1.2 s into the reload's 2 s: the call after it needs 1.5 s more.
    host.server.closeInsteadOfHandOff(2000);
    client.write(second);
    await ended;
    const replies = Buffer.concat(chunks).toString('latin1');
    expect(replies).toContain('one');
    expect(replies).toContain('two');
    expect(host.logs.join('')).not.toContain('drain timed out');
  });

  it('reads again and answers the call it held back, then closes instead of handing off', async () => {
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);
    const slow = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('one'), delayMs: 100 }), 1);
    const next = encode('echo', thrift.Thrift.MessageType.CALL, argsOf('echo', { data: Buffer.from('two'), delayMs: 0 }), 2);
    const { client, chunks, ended } = await collectingClient(host.port);
    client.write(slow);
    const connections = (host.server as unknown as { connections: Set<any> }).connections;
    await waitFor(() => connections.size === 1 && [...connections][0].inFlight === 1);
    const conn = [...connections][0];
    let handedOff = false;
    void host.server.drain(5000, (socket) => {
      handedOff = true;
      socket.destroy();
    });
    expect(conn.paused).toBe(true); // a moving connection stops reading
    client.write(next); // held back: it would travel with the socket
    host.server.closeInsteadOfHandOff(5000);
    await ended;
    expect(handedOff).toBe(false);
    const replies = Buffer.concat(chunks).toString('latin1');
    expect(replies).toContain('one');
    expect(replies).toContain('two');
  });
});

/**
 * A connected raw client that keeps every byte it receives; `ended` settles on the server's FIN,
 * `closed` when the socket is closed. Destroyed after the test.
 */
async function collectingClient(port: number) {
  const client = net.connect(port, '127.0.0.1');
  cleanups.push(() => client.destroy());
  client.on('error', () => {});
  const chunks: Buffer[] = [];
  client.on('data', (c) => chunks.push(c));
  const ended = new Promise<void>((r) => client.on('end', () => r()));
  const closed = new Promise<void>((r) => client.on('close', () => r()));
  await new Promise((r) => client.once('connect', r));
  return { client, chunks, ended, closed };
}
