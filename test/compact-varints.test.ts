/**
 * The compact reader's varints: every length class of i32 (1 to 5 bytes, negative and positive
 * extremes) reads back what Apache's writer wrote, whether the varint sits well inside the
 * message (the unrolled path) or ends it (the bounds-checked path); a sixth byte is refused.
 */
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS, ProtocolViolation } from '../src/codec/decode-limits.js';
import { createInputProtocol } from '../src/codec/protocols.js';

/** Bytes Apache's TCompactProtocol writes for `values` as bare i32s. */
function apacheI32s(values: number[]): Buffer {
  const chunks: Buffer[] = [];
  const p = new thrift.TCompactProtocol({ write: (b: Buffer) => chunks.push(Buffer.from(b)), flush() {} } as never);
  for (const v of values) p.writeI32(v);
  return Buffer.concat(chunks);
}

const EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 1048575, -1048576, 1048576, 134217727, -134217728, 134217728, 2147483647, -2147483648];

describe('compact i32 varints', () => {
  it('reads every length class back, inside the message and at its very end', () => {
    const bytes = apacheI32s(EDGES);
    const input = createInputProtocol('compact', DEFAULT_DECODE_LIMITS, 'int64');
    input.reset(bytes, 0, bytes.length);
    expect(EDGES.map(() => input.readI32())).toEqual(EDGES);
    expect(input.pos).toBe(bytes.length);
    // Each value alone: the varint ends the buffer, so the checked path reads it.
    for (const v of EDGES) {
      const one = apacheI32s([v]);
      input.reset(one, 0, one.length);
      expect(input.readI32()).toBe(v);
    }
  });

  it('refuses a varint with a sixth byte, with or without bytes after it', () => {
    const six = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    const input = createInputProtocol('compact', DEFAULT_DECODE_LIMITS, 'int64');
    for (const buf of [six, Buffer.concat([six, Buffer.alloc(8)])]) {
      input.reset(buf, 0, buf.length);
      expect(() => input.readI32()).toThrow(ProtocolViolation);
    }
  });

  it('takes a fifth byte modulo 2^32, as Apache does', () => {
    // 0xff 0xff 0xff 0xff 0x7f: bits past 32 are dropped -> 0xffffffff -> zigzag -2^31... -1
    const buf = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(4)]);
    const input = createInputProtocol('compact', DEFAULT_DECODE_LIMITS, 'int64');
    input.reset(buf, 0, buf.length);
    const fast = input.readI32();
    input.reset(buf, 0, 5);
    expect(input.readI32()).toBe(fast);
    expect(fast).toBe(-2147483648);
  });
});
