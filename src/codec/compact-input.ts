/**
 * TCompactProtocol, read side: zigzag varints, field-id deltas, booleans folded into field
 * headers, little-endian doubles. Bounded as {@link InputProtocol} describes; a varint longer
 * than its type allows is a protocol violation, not a loop.
 */
import { violation } from './decode-limits.js';
import { LengthPrefixedInput, type MessageHeader, T } from './input-protocol.js';

const PROTOCOL_ID = 0x82;
const VERSION = 1;

/** Compact type nibble -> Thrift type (index = compact type). */
const TTYPE: readonly number[] = [
  T.STOP,
  T.BOOL, // 1: boolean true
  T.BOOL, // 2: boolean false
  T.BYTE,
  T.I16,
  T.I32,
  T.I64,
  T.DOUBLE,
  T.STRING,
  T.LIST,
  T.SET,
  T.MAP,
  T.STRUCT,
  T.UUID,
];

/** Smallest encoding of one container element of each Thrift type (double 8, uuid 16, else 1). */
function minBytes(ttype: number): number {
  return ttype === T.DOUBLE ? 8 : ttype === T.UUID ? 16 : 1;
}

/** Compact protocol reader over one complete message. */
export class CompactInput extends LengthPrefixedInput {
  private lastFieldId = 0;
  private readonly fieldIds: number[] = [];
  /** A bool carried by the last field header: -1 none, 0 false, 1 true. */
  private pendingBool = -1;

  protected override resetState(): void {
    this.lastFieldId = 0;
    this.fieldIds.length = 0;
    this.pendingBool = -1;
  }

  readMessageBegin(): MessageHeader {
    this.need(2);
    const id = this.buf[this.pos]!;
    const vt = this.buf[this.pos + 1]!;
    if (id !== PROTOCOL_ID) {
      violation(`bad compact protocol id 0x${id.toString(16)} (another protocol or transport?)`);
    }
    if ((vt & 0x1f) !== VERSION) violation(`bad compact protocol version ${vt & 0x1f}`);
    this.pos += 2;
    const rseqid = this.varint32() | 0;
    const fname = this.readString();
    return { fname, mtype: (vt >> 5) & 0x07, rseqid };
  }

  readStructBegin(): void {
    this.enter();
    this.fieldIds.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  readStructEnd(): void {
    this.lastFieldId = this.fieldIds.pop() ?? 0;
    this.leave();
  }

  readFieldBegin(): { fname: string; ftype: number; fid: number } {
    const f = this.field;
    this.need(1);
    const b = this.buf[this.pos++]!;
    const ctype = b & 0x0f;
    if (ctype === 0) {
      f.ftype = T.STOP;
      f.fid = 0;
      return f;
    }
    const delta = b >> 4;
    const fid = delta === 0 ? zigzag32(this.varint32()) : this.lastFieldId + delta;
    if (fid > 32767 || fid < -32768) violation(`field id ${fid} out of the i16 range`);
    f.ftype = this.ttype(ctype);
    f.fid = fid;
    if (ctype === 1 || ctype === 2) this.pendingBool = ctype === 1 ? 1 : 0;
    this.lastFieldId = fid;
    return f;
  }

  readMapBegin(): { ktype: number; vtype: number; size: number } {
    const m = this.map;
    m.size = this.size32('map');
    if (m.size !== 0) {
      this.need(1);
      const kv = this.buf[this.pos++]!;
      m.ktype = this.ttype(kv >> 4);
      m.vtype = this.ttype(kv & 0x0f);
    } else {
      m.ktype = 0;
      m.vtype = 0;
    }
    this.enter();
    if (m.size !== 0) this.checkCount(m.size, minBytes(m.ktype) + minBytes(m.vtype), 'map');
    return m;
  }

  readMapEnd(): void {
    this.leave();
  }

  readListBegin(): { etype: number; size: number } {
    this.need(1);
    const b = this.buf[this.pos++]!;
    const l = this.list;
    l.etype = this.ttype(b & 0x0f);
    l.size = b >> 4 === 15 ? this.size32('list') : b >> 4;
    this.enter();
    if (l.size !== 0) this.checkCount(l.size, minBytes(l.etype), 'list');
    return l;
  }

  readListEnd(): void {
    this.leave();
  }

  readBool(): boolean {
    if (this.pendingBool >= 0) {
      const v = this.pendingBool === 1;
      this.pendingBool = -1;
      return v;
    }
    this.need(1);
    return this.buf[this.pos++] === 1;
  }

  readByte(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  readI16(): number {
    const v = zigzag32(this.varint32());
    if (v > 32767 || v < -32768) violation(`i16 value ${v} out of range`);
    return v;
  }

  readI32(): number {
    return zigzag32(this.varint32());
  }

  readI64() {
    // Up to 10 bytes of 7 bits. Below 2^53 (7 bytes and a bit) plain numbers are exact.
    const buf = this.buf;
    let lo = 0;
    let shift = 0;
    // 2^shift, kept as a running product: `2 ** shift` with a variable shift is a slow call.
    let scale = 1;
    let i = this.pos;
    for (; shift < 49; shift += 7, scale *= 128) {
      if (i >= this.end) this.need(i - this.pos + 1);
      const b = buf[i++]!;
      lo += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = i;
        // zigzag: even -> n/2, odd -> -(n+1)/2
        return this.i64FromNumber(lo % 2 === 0 ? lo / 2 : -(lo + 1) / 2);
      }
    }
    let big = BigInt(lo);
    for (let bshift = 49n; ; bshift += 7n) {
      if (bshift > 63n) violation('varint longer than 10 bytes');
      if (i >= this.end) this.need(i - this.pos + 1);
      const b = buf[i++]!;
      big |= BigInt(b & 0x7f) << bshift;
      if (b < 0x80) break;
    }
    this.pos = i;
    big = BigInt.asUintN(64, big);
    return this.i64FromBigInt(BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n)));
  }

  readDouble(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  // --- internal ---

  protected stringLength(): number {
    const n = this.varint32();
    if (n > 0x7fffffff) violation(`string length ${n} out of range`);
    this.checkLength(n);
    return n;
  }

  /** A container size: a varint that must fit a non-negative i32. */
  private size32(what: string): number {
    const n = this.varint32();
    if (n > 0x7fffffff) violation(`${what} size ${n} out of range`);
    return n;
  }

  /** An unsigned varint of at most 5 bytes (0 .. 2^32-1). */
  private varint32(): number {
    const buf = this.buf;
    let i = this.pos;
    // One byte is by far the most common (field ids, small sizes and values).
    if (i < this.end) {
      const b0 = buf[i]!;
      if (b0 < 0x80) {
        this.pos = i + 1;
        return b0;
      }
    }
    if (i + 5 <= this.end) {
      // Whole varint in range: unrolled, 32-bit integer arithmetic only. Bits past 32 in the
      // fifth byte are dropped (the value is taken mod 2^32, as the loop below does).
      let b = buf[i]!;
      let result = b & 0x7f;
      b = buf[i + 1]!;
      result |= (b & 0x7f) << 7;
      if (b < 0x80) return this.advance(i + 2, result);
      b = buf[i + 2]!;
      result |= (b & 0x7f) << 14;
      if (b < 0x80) return this.advance(i + 3, result);
      b = buf[i + 3]!;
      result |= (b & 0x7f) << 21;
      if (b < 0x80) return this.advance(i + 4, result);
      b = buf[i + 4]!;
      if (b >= 0x80) violation('varint longer than 5 bytes');
      return this.advance(i + 5, (result | (b << 28)) >>> 0);
    }
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= this.end) this.need(i - this.pos + 1);
      const b = buf[i++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = i;
        return result % 0x100000000;
      }
    }
    return violation('varint longer than 5 bytes');
  }

  private advance(pos: number, value: number): number {
    this.pos = pos;
    return value;
  }

  private ttype(ctype: number): number {
    const t = TTYPE[ctype];
    if (t === undefined || ctype === 0) violation(`unknown compact type ${ctype}`);
    return t;
  }
}

/** Zigzag-decodes a 32-bit varint value. */
function zigzag32(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}
