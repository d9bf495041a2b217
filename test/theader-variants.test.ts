/**
 * What a THeader listener accepts besides plain THeader frames, as Apache's THeaderTransport
 * does, each answered in kind: a THeader frame inside a second frame, plain unframed binary and
 * compact clients, the zlib transform (bounded after inflating, answered without it); and an
 * unsupported transform answered with an error the caller can read.
 */
import net from 'node:net';
import zlib from 'node:zlib';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTHeaderPrefix, parseTHeader, ZLIB_TRANSFORM } from '../src/codec/theader.js';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { sayHelloCall } from './helpers/encoded-calls.js';
import { rawClient, startServer, waitFor } from './helpers/in-process-server.js';

const { MessageType } = thrift.Thrift;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});


/** Sends `bytes` on a raw socket and resolves with everything received once `done` says so. */
async function exchange(port: number, bytes: Buffer, done: (b: Buffer) => boolean): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  await new Promise((r) => socket.once('connect', r));
  socket.write(bytes);
  await waitFor(() => done(Buffer.concat(chunks)), 5000, 'the reply');
  return Buffer.concat(chunks);
}

/** A whole THeader frame (with its length) is in `b` at `at`. */
const wholeFrameAt = (b: Buffer, at: number) => b.length >= at + 4 && b.length >= at + 4 + b.readUInt32BE(at);

async function headerHost() {
  const host = await startServer({ service: 'HelloWorld', transport: 'header' });
  cleanups.push(host.close);
  return host;
}

describe('a THeader listener', () => {
  it('answers a THeader frame wrapped in a second frame, in a second frame', async () => {
    const host = await headerHost();
    const message = sayHelloCall('outer', 7);
    const inner = Buffer.concat([buildTHeaderPrefix('binary', 7, undefined, message.length), message]);
    const outer = Buffer.concat([Buffer.from([0, 0, 0, 0]), inner]);
    outer.writeUInt32BE(inner.length, 0);
    const reply = await exchange(host.port, outer, (b) => wholeFrameAt(b, 0));
    // Outer length, then a whole THeader frame.
    expect(reply.readUInt32BE(0)).toBe(reply.length - 4);
    expect(reply.readUInt32BE(4)).toBe(reply.length - 8);
    const frame = parseTHeader(reply, 8, reply.length, DEFAULT_DECODE_LIMITS);
    expect(frame.seqid).toBe(7);
    expect(reply.subarray(frame.payloadStart).toString('latin1')).toContain('Hello outer');
  });

  it.each(['binary', 'compact'] as const)('answers a plain unframed %s client, unframed', async (protocol) => {
    const host = await headerHost();
    const { client, close } = rawClient('HelloWorld', host.port, protocol, 'buffered');
    cleanups.push(close);
    expect(await client.sayHello('plain')).toBe('Hello plain');
    expect(await client.sayHello('again')).toBe('Hello again');
  });

  it('inflates a zlib-transformed call and answers it without transforms, as Apache servers do', async () => {
    const host = await headerHost();
    const message = sayHelloCall('z'.repeat(5000), 3);
    const payload = zlib.deflateSync(message);
    const call = Buffer.concat([buildTHeaderPrefix('binary', 3, new Map([['k', 'v']]), payload.length, [ZLIB_TRANSFORM]), payload]);
    expect(call.length).toBeLessThan(message.length / 10);
    const reply = await exchange(host.port, call, (b) => wholeFrameAt(b, 0));
    const frame = parseTHeader(reply, 4, reply.length, DEFAULT_DECODE_LIMITS);
    expect(frame.transforms).toEqual([]);
    expect(frame.payload.subarray(frame.payloadStart, frame.payloadEnd).toString('latin1')).toContain(
      `Hello ${'z'.repeat(5000)}`,
    );
  });

  it('refuses a zlib payload that inflates past maxMessageBytes, telling the caller', async () => {
    const host = await startServer({ service: 'HelloWorld', transport: 'header', maxMessageBytes: 64 * 1024 });
    cleanups.push(host.close);
    const payload = zlib.deflateSync(sayHelloCall('b'.repeat(200_000), 4));
    expect(payload.length).toBeLessThan(64 * 1024);
    const call = Buffer.concat([buildTHeaderPrefix('binary', 4, undefined, payload.length, [ZLIB_TRANSFORM]), payload]);
    const socket = net.connect(host.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    socket.on('error', () => {});
    const closed = new Promise((r) => socket.once('close', r));
    await new Promise((r) => socket.once('connect', r));
    socket.write(call);
    await closed;
    expect(host.logs.join('')).toContain('zlib payload inflates past maxMessageBytes 65536');
  });

  it('answers an unsupported transform with TApplicationException INVALID_TRANSFORM naming it', async () => {
    const host = await headerHost();
    const message = sayHelloCall('snappy', 9);
    const call = Buffer.concat([buildTHeaderPrefix('binary', 9, undefined, message.length, [3]), message]);
    const reply = await exchange(host.port, call, (b) => wholeFrameAt(b, 0));
    const frame = parseTHeader(reply, 4, reply.length, DEFAULT_DECODE_LIMITS);
    expect(frame.transforms).toEqual([]);
    const input = new thrift.TBinaryProtocol(new thrift.TFramedTransport(frame.payload.subarray(frame.payloadStart)) as never);
    const begin = input.readMessageBegin();
    expect(begin.mtype).toBe(MessageType.EXCEPTION);
    const x = new thrift.Thrift.TApplicationException();
    x.read(input);
    expect(x.message).toBe(
      'Bad request: THeader transform 3 (snappy) is not supported; send without it, or with zlib (1)',
    );
    expect(x.type).toBe(thrift.Thrift.TApplicationExceptionType.INVALID_TRANSFORM);
  });
});
