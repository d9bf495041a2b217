/**
 * However TCP cuts a stream, the splitter hands out the same whole messages, scanning each byte
 * once, and the bounded readers decode them to the same values as Apache's own protocol
 * classes: every protocol, framed and unframed, split at every byte position and in random
 * chunk sizes.
 */
import path from 'node:path';
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { loadGeneratedService } from '../src/codec/generated-service.js';
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
