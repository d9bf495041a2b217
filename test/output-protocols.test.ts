/**
 * The fast binary and compact writers produce exactly the bytes of Apache's protocol classes,
 * for every kind of field, edge values included, the JSON writer its lists and sets, and the WriteBuffer keeps every flushed
 * message intact while later ones are written (scratch reuse and growth, big messages).
 */
import path from 'node:path';
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { createOutputProtocol } from '../src/codec/output-protocols.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { ROOT } from './helpers/in-process-server.js';

const types = require(path.join(ROOT, 'gen/Catalog/Catalog_types.js'));
const { MessageType } = thrift.Thrift;

type Encode = (p: thrift.TProtocol) => void;

/** Bytes written by Apache's own class over a transport that just collects them. */
function apacheBytes(Protocol: thrift.ProtocolClass, encode: Encode): Buffer {
  const chunks: Buffer[] = [];
  const trans = {
    write: (b: Buffer) => chunks.push(Buffer.from(b)),
    flush() {},
    setCurrSeqId() {},
  };
  const p = new Protocol(trans);
  encode(p);
  return Buffer.concat(chunks);
}

function fastBytes(Protocol: thrift.ProtocolClass, encode: Encode, framed = false): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const w = new WriteBuffer(framed, (m) => {
    out = m;
  });
  const p = createOutputProtocol(Protocol, w);
  encode(p);
  p.flush();
  return out;
}

const items = [
  new types.Item({
    id: new thrift.Int64(1234567890123),
    title: 'Grüße, 世界 🎉',
    category: 3,
    price: -12.5,
    tags: ['a', '', 'ü'.repeat(100), 'y'.repeat(64), 'y'.repeat(65), `${'y'.repeat(63)}é`],
    stock: { paris: 3, 'new york': -1, z: 2 ** 31 - 1 },
    related: [new thrift.Int64(-1), new thrift.Int64(0), new thrift.Int64(2 ** 40)],
    thumbnail: Buffer.from([0, 255, 128, 7]),
    active: false,
  }),
  new types.Item({ id: new thrift.Int64(0), title: '', tags: [], stock: {}, related: [] }),
  new types.Item({ id: new thrift.Int64(-5), title: 'x'.repeat(70_000), price: Number.NaN, tags: ['y'] }),
];

const message =
  (item: unknown, seqid: number): Encode =>
  (p) => {
    p.writeMessageBegin('put', MessageType.CALL, seqid);
    p.writeStructBegin('args');
    p.writeFieldBegin('item', thrift.Thrift.Type.STRUCT, 1);
    (item as { write(p: unknown): void }).write(p);
    p.writeFieldEnd();
    p.writeFieldBegin('n16', thrift.Thrift.Type.I16, 2);
    p.writeI16(-32768);
    p.writeFieldEnd();
    p.writeFieldBegin('n32', thrift.Thrift.Type.I32, 300);
    p.writeI32(-2147483648);
    p.writeFieldEnd();
    p.writeFieldBegin('b', thrift.Thrift.Type.BYTE, 301);
    p.writeByte(-1);
    p.writeFieldEnd();
    p.writeFieldBegin('latin1', thrift.Thrift.Type.STRING, 302);
    p.writeBinary('\u00ff\u0000abc');
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeMessageEnd();
  };

describe.each([
  ['binary', thrift.TBinaryProtocol],
  ['compact', thrift.TCompactProtocol],
] as const)('%s writer', (_name, Protocol) => {
  it('writes the same bytes as the Apache class', () => {
    items.forEach((item, i) => {
      const encode = message(item, 2 ** 31 - 1 - i);
      expect(fastBytes(Protocol, encode).equals(apacheBytes(Protocol, encode))).toBe(true);
    });
  });

  it('frames a message with its length', () => {
    const encode = message(items[1], 7);
    const framed = fastBytes(Protocol, encode, true);
    const plain = apacheBytes(Protocol, encode);
    expect(framed.readInt32BE(0)).toBe(plain.length);
    expect(framed.subarray(4).equals(plain)).toBe(true);
  });

  it('writes strings of every length class exactly, the length filled in after encoding', () => {
    // Lengths around where the worst case (3 bytes a unit) and the real UTF-8 length need
    // varints of different sizes, ASCII and multi-byte, and past the unmeasured limit.
    const lengths = [0, 1, 42, 43, 64, 65, 127, 128, 5461, 5462, 16383, 16384, 699050, 699051, 262_145];
    const texts = lengths.flatMap((n) => ['a'.repeat(n), 'é'.repeat(n), `${'€'.repeat(n >> 1)}${'x'.repeat(n - (n >> 1))}`]);
    texts.push('\ud83c\udf89 lone surrogate \ud800 end');
    const encode: Encode = (p) => {
      p.writeMessageBegin('m', MessageType.REPLY, 1);
      for (const text of texts) p.writeString(text);
      p.writeMessageEnd();
    };
    expect(fastBytes(Protocol, encode).equals(apacheBytes(Protocol, encode))).toBe(true);
  });

  it('rejects a string field that is neither a string nor bytes, like the Apache class', () => {
    const w = new WriteBuffer(false, () => {});
    expect(() => createOutputProtocol(Protocol, w).writeString(42 as never)).toThrow(/string\/Buffer/);
  });
});

describe('json writer', () => {
  it('writes lists and sets, nested, empty and of structs, as the Apache class does', () => {
    const T = thrift.Thrift.Type;
    // No negative i64 (the Apache class writes -1 as -00000000000001) and no NaN (bare in its JSON).
    const listed = new types.Item({
      id: new thrift.Int64(7),
      title: 'ü',
      tags: ['a', 'b'],
      stock: { x: 1 },
      related: [new thrift.Int64(2)],
    });
    const nested: Encode = (p) => {
      p.writeMessageBegin('m', MessageType.REPLY, 3);
      p.writeStructBegin('r');
      p.writeFieldBegin('lists', T.LIST, 1);
      p.writeListBegin(T.SET, 3);
      for (const n of [0, 1, 3]) {
        p.writeSetBegin(T.STRING, n);
        for (let i = 0; i < n; i++) p.writeString(`s${i}`);
        p.writeSetEnd();
      }
      p.writeListEnd();
      p.writeFieldEnd();
      p.writeFieldBegin('items', T.LIST, 2);
      p.writeListBegin(T.STRUCT, 2);
      listed.write(p);
      items[1].write(p);
      p.writeListEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeMessageEnd();
    };
    for (const encode of [nested, message(listed, 1), message(items[1], 2)]) {
      const ours = fastBytes(thrift.TJSONProtocol, encode).toString();
      expect(ours).toBe(apacheBytes(thrift.TJSONProtocol, encode).toString());
    }
  });
});

describe('WriteBuffer', () => {
  it('never changes a flushed message while later ones are written', () => {
    const kept: Buffer[] = [];
    const w = new WriteBuffer(true, (m) => kept.push(m));
    const p = createOutputProtocol(thrift.TBinaryProtocol, w);
    const expected: Buffer[] = [];
    // Small and big messages, so that the scratch buffer is reused, grows and is handed out.
    for (let i = 0; i < 3000; i++) {
      const text = i % 500 === 0 ? 'z'.repeat(200_000 + i) : `message ${i}`;
      const encode: Encode = (q) => {
        q.writeMessageBegin('m', MessageType.REPLY, i);
        q.writeString(text);
        q.writeMessageEnd();
      };
      expected.push(apacheBytes(thrift.TBinaryProtocol, encode));
      encode(p);
      p.flush();
    }
    kept.forEach((m, i) => {
      expect(m.readInt32BE(0)).toBe(expected[i]!.length);
      expect(m.subarray(4).equals(expected[i]!)).toBe(true);
    });
  });

  it('drops a half-written message on reset', () => {
    const kept: Buffer[] = [];
    const w = new WriteBuffer(false, (m) => kept.push(m));
    w.write(Buffer.from('abandoned'));
    expect(w.pending).toBe(9);
    w.reset();
    w.write('kept');
    w.flush();
    expect(kept.map((m) => m.toString())).toEqual(['kept']);
  });
});

describe('checked writers', () => {
  /** What `write` puts on the wire with thrifthost's writer for `Protocol`. */
  function ours(Protocol: thrift.ProtocolClass, write: (p: thrift.TProtocol) => void): Buffer {
    let out = Buffer.alloc(0);
    const p = createOutputProtocol(Protocol, new WriteBuffer(false, (m) => (out = Buffer.from(m))));
    write(p);
    p.flush();
    return out;
  }

  it.each([thrift.TBinaryProtocol, thrift.TCompactProtocol, thrift.TJSONProtocol])(
    'takes decimal-string map keys as numbers, refuses hex and out-of-range values, naming the field (%#)',
    (Protocol) => {
      const map = (kt: number, key: unknown, write: (p: thrift.TProtocol, k: unknown) => void) =>
        ours(Protocol, (p) => {
          p.writeMessageBegin('m', MessageType.REPLY, 1);
          p.writeStructBegin('r');
          p.writeFieldBegin('byId', thrift.Thrift.Type.MAP, 0);
          p.writeMapBegin(kt, thrift.Thrift.Type.STRING, 1);
          write(p, key);
          p.writeString('v');
          p.writeMapEnd();
          p.writeFieldEnd();
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeMessageEnd();
        });
      const I64 = thrift.Thrift.Type.I64;
      const I32 = thrift.Thrift.Type.I32;
      // The keys a handler's plain object gives are strings: the same bytes as the numbers.
      expect(map(I64, '1234567890123', (p, k) => p.writeI64(k))).toEqual(
        map(I64, 1234567890123, (p, k) => p.writeI64(k)),
      );
      expect(map(I32, '-5', (p, k) => p.writeI32(k))).toEqual(map(I32, -5, (p, k) => p.writeI32(k)));
      expect(() => map(I64, 'ff', (p, k) => p.writeI64(k))).toThrow(/field 'byId': i64 value is the string "ff"/);
      expect(() => map(I32, 2 ** 31, (p, k) => p.writeI32(k))).toThrow(/field 'byId': i32 value .* not an integer/);
    },
  );
});
