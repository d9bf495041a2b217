/**
 * However TCP cuts a stream, the splitter hands out the same whole messages, scanning each byte
 * once, and the bounded readers decode them to the same values as Apache's own protocol
 * classes: every protocol, framed and unframed, split at every byte position and in random
 * chunk sizes. An unframed list of fixed-width values is skipped by its count, not walked
 * element by element (counted in scanner steps), and still held to the limits.
 */
import path from 'node:path';
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { loadGeneratedService } from '../src/codec/generated-service.js';
import type { MessageScanner } from '../src/codec/message-scanner.js';
import { MessageSplitter } from '../src/codec/message-splitter.js';
import { createInputProtocol, PROTOCOLS, type ProtocolName, protocolClass } from '../src/codec/protocols.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';

const gen = loadGeneratedService(path.join(__dirname, '..', 'gen'), 'Catalog');
const put = gen.methods.get('put')!;
const index = gen.methods.get('index')!;

const item = {
  id: new thrift.Int64(-1234567890123),
  title: 'naïve "quoted" \\ title \u0001 \n ✓ 𝄞',
  category: 2,
  price: -0.5,
  tags: ['a', '', 'ccc'],
  stock: { north: 3, south: -7 },
  related: [new thrift.Int64(1), new thrift.Int64(2 ** 40)],
  thumbnail: Buffer.from([0, 1, 2, 255]),
  active: false,
};

/** Two calls back to back, encoded by Apache's protocol class. */
function stream(protocol: ProtocolName, framed: boolean): Buffer {
  const out: Buffer[] = [];
  const w = new WriteBuffer(framed, (m) => out.push(Buffer.from(m)));
  const p = new (protocolClass(protocol))(w);
  p.writeMessageBegin('put', thrift.Thrift.MessageType.CALL, 1);
  new put.Args({ item }).write(p);
  p.writeMessageEnd();
  p.flush();
  p.writeMessageBegin('index', thrift.Thrift.MessageType.CALL, 2);
  new index.Args({ tags: ['x', 'y'] }).write(p);
  p.writeMessageEnd();
  p.flush();
  return Buffer.concat(out);
}

/** Feeds `bytes` in the given chunk sizes; returns the decoded (method, args) of each message. */
function decodeChunks(protocol: ProtocolName, framed: boolean, bytes: Buffer, cuts: number[]) {
  const splitter = new MessageSplitter(framed, protocol, DEFAULT_DECODE_LIMITS);
  const input = createInputProtocol(protocol, DEFAULT_DECODE_LIMITS);
  const decoded: { name: string; seqid: number; args: unknown }[] = [];
  let pos = 0;
  for (const cut of [...cuts, bytes.length]) {
    // Chunks are copies, as the socket delivers them.
    splitter.push(Buffer.from(bytes.subarray(pos, cut)));
    pos = cut;
    while (splitter.next()) {
      input.reset(splitter.message, splitter.messageStart, splitter.messageEnd);
      const { fname, rseqid } = input.readMessageBegin();
      const Args = gen.methods.get(fname)!.Args;
      const args = new Args();
      args.read(input);
      input.readMessageEnd();
      expect(input.pos).toBe(input.end);
      decoded.push({ name: fname, seqid: rseqid, args: plain(args) });
    }
  }
  expect(splitter.pending).toBe(0);
  // However it was cut, each byte was scanned once and copied a bounded number of times.
  expect(splitter.work.received).toBe(bytes.length);
  expect(splitter.work.scanned).toBeLessThanOrEqual(2 * bytes.length);
  expect(splitter.work.copied).toBeLessThanOrEqual(4 * bytes.length);
  return decoded;
}

/** Comparable form: Int64 as decimal strings, Buffers as hex. */
function plain(v: unknown): unknown {
  if (v instanceof thrift.Int64) return thrift.toBigInt(v).toString();
  if (Buffer.isBuffer(v)) return `hex:${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x != null).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

describe.each(PROTOCOLS.flatMap((p) => [false, true].map((framed) => ({ protocol: p, framed }))))(
  '$protocol, framed: $framed',
  ({ protocol, framed }) => {
    const bytes = stream(protocol, framed);
    const whole = decodeChunks(protocol, framed, bytes, []);

    it('decodes what Apache encoded, field for field', () => {
      expect(whole.map((m) => [m.name, m.seqid])).toEqual([
        ['put', 1],
        ['index', 2],
      ]);
      expect(whole[0]!.args).toEqual(plain(new put.Args({ item })));
    });

    it('gives the same messages split in two at every byte position', () => {
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(decodeChunks(protocol, framed, bytes, [cut]), `cut at ${cut}`).toEqual(whole);
      }
    });

    it('gives the same messages one byte at a time and in random chunks', () => {
      const oneByOne = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      expect(decodeChunks(protocol, framed, bytes, oneByOne)).toEqual(whole);
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let round = 0; round < 50; round++) {
        const cuts: number[] = [];
        for (let at = 1 + Math.floor(random() * 20); at < bytes.length; at += 1 + Math.floor(random() * 40)) {
          cuts.push(at);
        }
        expect(decodeChunks(protocol, framed, bytes, cuts)).toEqual(whole);
      }
    });
  },
);

describe('lists of fixed-width values are skipped, not walked', () => {
  const T = thrift.Thrift.Type;
  /** A call whose one argument is a list of `n` i32 (the payload bench's echoList), unframed. */
  const listCall = (protocol: ProtocolName, n: number, type: number = T.I32): Buffer => {
    let out = Buffer.alloc(0);
    const w = new WriteBuffer(false, (m) => (out = Buffer.from(m)));
    const p = new (protocolClass(protocol))(w);
    p.writeMessageBegin('echoList', thrift.Thrift.MessageType.CALL, 1);
    p.writeStructBegin('args');
    p.writeFieldBegin('values', T.LIST, 1);
    p.writeListBegin(type, n);
    for (let i = 0; i < n; i++) {
      if (type === T.I32) p.writeI32(i * 7919 - 3_000_000);
      else p.writeDouble(i / 3);
    }
    p.writeListEnd();
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeMessageEnd();
    p.flush();
    return out;
  };
  /** Steps the splitter's scanner takes to find the message, fed whole or one byte at a time. */
  const steps = (protocol: ProtocolName, bytes: Buffer, oneByOne: boolean) => {
    const splitter = new MessageSplitter(false, protocol, DEFAULT_DECODE_LIMITS);
    const scanner = (splitter as unknown as { scanner: MessageScanner }).scanner;
    const chunks = oneByOne ? [...bytes].map((b) => Buffer.from([b])) : [Buffer.from(bytes)];
    let found = 0;
    for (const chunk of chunks) {
      splitter.push(chunk);
      while (splitter.next()) found = splitter.messageEnd - splitter.messageStart;
    }
    expect(found).toBe(bytes.length);
    expect(splitter.work.scanned).toBe(bytes.length);
    expect(scanner.steps).toBeGreaterThan(0);
    return scanner.steps;
  };

  it('binary: a list of 10,000 i32 or double costs the scanner the steps of a list of 2, however cut', () => {
    for (const type of [T.I32, T.DOUBLE]) {
      for (const oneByOne of [false, true]) {
        expect(steps('binary', listCall('binary', 10_000, type), oneByOne)).toBe(steps('binary', listCall('binary', 2, type), oneByOne));
      }
    }
  });

  it('compact: a list of 10,000 doubles costs the steps of a list of 2; 10,000 i32 varints are one step', () => {
    expect(steps('compact', listCall('compact', 10_000, T.DOUBLE), false)).toBe(steps('compact', listCall('compact', 2, T.DOUBLE), false));
    expect(steps('compact', listCall('compact', 10_000), false)).toBe(steps('compact', listCall('compact', 2), false));
  });

  it.each(['binary', 'compact'] as const)('%s: split at every byte, the list is found whole and decodes the same', (protocol) => {
    const bytes = listCall(protocol, 300);
    const decode = (buf: Buffer, start: number, end: number) => {
      const input = createInputProtocol(protocol, DEFAULT_DECODE_LIMITS);
      input.reset(buf, start, end);
      input.readMessageBegin();
      input.readStructBegin();
      input.readFieldBegin();
      const { size } = input.readListBegin();
      const values = Array.from({ length: size }, () => input.readI32());
      input.readListEnd();
      expect(input.readFieldBegin().ftype).toBe(T.STOP);
      return values;
    };
    const whole = decode(bytes, 0, bytes.length);
    expect(whole).toHaveLength(300);
    for (let cut = 1; cut < bytes.length; cut++) {
      const splitter = new MessageSplitter(false, protocol, DEFAULT_DECODE_LIMITS);
      splitter.push(Buffer.from(bytes.subarray(0, cut)));
      expect(splitter.next(), `cut at ${cut}`).toBe(false);
      splitter.push(Buffer.from(bytes.subarray(cut)));
      expect(splitter.next()).toBe(true);
      expect(decode(splitter.message, splitter.messageStart, splitter.messageEnd)).toEqual(whole);
    }
  });

  it.each(['binary', 'compact'] as const)('%s: a skipped list still counts against maxDepth and maxContainerElements', (protocol) => {
    const bytes = listCall(protocol, 300, T.DOUBLE);
    const scan = (limits: Partial<typeof DEFAULT_DECODE_LIMITS>) => {
      const splitter = new MessageSplitter(false, protocol, { ...DEFAULT_DECODE_LIMITS, ...limits });
      splitter.push(Buffer.from(bytes));
      return () => splitter.next();
    };
    // The args struct is depth 1, the list depth 2.
    expect(scan({ maxDepth: 2 })()).toBe(true);
    expect(scan({ maxDepth: 1 })).toThrow(/maxDepth 1/);
    expect(scan({ maxContainerElements: 299 })).toThrow(/300 elements exceeds maxContainerElements 299/);
    // The declared count is checked before its bytes arrive.
    const splitter = new MessageSplitter(false, protocol, { ...DEFAULT_DECODE_LIMITS, maxMessageBytes: 2000 });
    splitter.push(Buffer.from(bytes.subarray(0, 40)));
    expect(() => splitter.next()).toThrow(/exceeds maxMessageBytes 2000/);
  });
});
