/**
 * Messages far larger than one socket read: the listener gathers their chunks and answers
 * them, pipelined with small calls, for binary and compact (the host's own writers) on both
 * transports. Through the Apache clients JSON is left to worker-protocols.test.ts: under vitest
 * every call of the Apache JSON client takes about a second whatever its size (plain node:
 * 1 ms). A 12 MB unframed call that trickles in, one 16 KB read at a time, is answered for
 * every protocol, in work linear in its bytes (counted, not timed).
 */
import net from 'node:net';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { MessageSplitter } from '../src/codec/message-splitter.js';
import { createInputProtocol, PROTOCOLS, TRANSPORTS } from '../src/codec/protocols.js';
import { indexCall } from './helpers/encoded-calls.js';
import { rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe.each((['binary', 'compact'] as const).flatMap((p) => TRANSPORTS.map((t) => [p, t] as const)))(
  '%s / %s',
  (protocol, transport) => {
    it('answers multi-megabyte calls pipelined with small ones, in order', async () => {
      const host = await startServer({ service: 'HelloWorld', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('HelloWorld', host.port, protocol, transport);
      cleanups.push(close);

      // Non-ASCII so that byte and character counts differ.
      const big = 'ü€x'.repeat(700_000);
      const replies: string[] = await Promise.all(
        [big, 'small', `${big}!`, ''].map((name) => client.sayHello(name)),
      );
      expect(replies.map((r) => r.length)).toEqual([6 + big.length, 11, 7 + big.length, 6]);
      expect(replies[0] === `Hello ${big}`).toBe(true);
      expect(replies[1]).toBe('Hello small');
      expect(replies[2] === `Hello ${big}!`).toBe(true);
      expect(replies[3]).toBe('Hello ');
    });

    it('keeps a big binary argument intact while later calls arrive on the connection', async () => {
      // A binary that fills most of its frame is handed to the handler as a view of the receive
      // buffer (no copy): the bytes that arrive after it must never be written over it.
      const host = await startServer({ service: 'Catalog', protocol, transport });
      cleanups.push(host.close);
      const { client, close } = rawClient('Catalog', host.port, protocol, transport);
      cleanups.push(close);
      const payloads = ['a', 'b', 'c', 'd'].map((c, i) => Buffer.alloc(300_000 + i * 7919, c));
      // The first handler reads its argument only after the later calls have been received.
      const replies: string[] = await Promise.all(
        payloads.map((p, i) => client.echo(p, i === 0 ? 200 : 0)),
      );
      replies.forEach((r, i) => expect(r === payloads[i]!.toString(), `reply ${i}`).toBe(true));
    });
  },
);

const { MessageType, Type } = thrift.Thrift;
/** The reply names every tag: larger than a call may be by default. */
const REPLY_LIMITS = { ...DEFAULT_DECODE_LIMITS, maxMessageBytes: 2 ** 30 };

describe.each(PROTOCOLS)('%s / buffered', (protocol) => {
  it('answers a 12 MB call that arrives one 16 KB read at a time, scanning each byte once', async () => {
    const host = await startServer({ service: 'Catalog', protocol, transport: 'buffered' });
    cleanups.push(host.close);
    // 125,000 tags of 96 characters: many elements, and a reply the handler builds quickly.
    const tags = 125_000;
    const call = indexCall(protocol, false, tags, 96);
    expect(call.length).toBeGreaterThan(12_000_000);
    const socket = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    const replies = new MessageSplitter(false, protocol, REPLY_LIMITS);
    const replied = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        replies.push(chunk);
        if (replies.next()) resolve();
      }),
    );

    const before = { ...MessageSplitter.total };
    /** The work of the worker's splitter so far (the only other one, the reply's, subtracted). */
    const work = () => ({
      received: MessageSplitter.total.received - before.received - replies.work.received,
      scanned: MessageSplitter.total.scanned - before.scanned - replies.work.scanned,
      copied: MessageSplitter.total.copied - before.copied - replies.work.copied,
    });
    for (let off = 0; off < call.length; off += 16 * 1024) {
      // Written one by one and given the event loop between them: the worker reads each alone.
      await new Promise((r) => socket.write(call.subarray(off, off + 16 * 1024), r));
      await new Promise((r) => setImmediate(r));
      // Quadratic work shows within a few reads: fail there rather than wait for all of it.
      const { received, scanned, copied } = work();
      expect(scanned, `bytes scanned after ${received} received`).toBeLessThanOrEqual(2 * received);
      expect(copied, `bytes copied after ${received} received`).toBeLessThanOrEqual(4 * received);
    }
    await replied;

    // The reply's map has a key per tag (read up to its header: decoding it all is slow).
    const input = createInputProtocol(protocol, REPLY_LIMITS);
    input.reset(replies.message, replies.messageStart, replies.messageEnd);
    expect(input.readMessageBegin()).toMatchObject({ fname: 'index', mtype: MessageType.REPLY, rseqid: 7 });
    input.readStructBegin();
    expect(input.readFieldBegin()).toMatchObject({ fid: 0, ftype: Type.MAP });
    expect(input.readMapBegin()).toMatchObject({ ktype: Type.STRING, vtype: Type.LIST, size: tags });
    const { received, scanned, copied } = work();
    expect(received).toBe(call.length);
    expect(scanned / received).toBeLessThanOrEqual(2);
    expect(copied / received).toBeLessThanOrEqual(4);
  }, 120_000); // 750 writes, each awaited: can take more than the default 30 s on a loaded machine
});
