/**
 * TBinaryProtocol, read side: big-endian fixed-width integers, i32-length strings, strict
 * (versioned) and old non-strict message headers. Bounded as {@link InputProtocol} describes.
 */
import { violation } from './decode-limits.js';
import { binaryMinBytes, LengthPrefixedInput, type MessageHeader, T } from './input-protocol.js';

const VERSION_1 = 0x80010000 | 0;

/** Binary protocol reader over one complete message. */
export class BinaryInput extends LengthPrefixedInput {
  readMessageBegin(): MessageHeader {
    const sz = this.readI32();
    let fname: string;
    let mtype: number;
    if (sz < 0) {
      if ((sz & 0xffff0000) !== VERSION_1) {
        violation(`bad binary protocol version 0x${(sz >>> 0).toString(16)} (another protocol or transport?)`);
      }
      mtype = sz & 0xff;
      fname = this.readString();
    } else {
      // Old non-strict header: the name's length comes first.
      this.checkLength(sz);
      fname = this.text(this.pos, this.pos + sz);
      this.pos += sz;
      mtype = this.readByte();
    }
    return { fname, mtype, rseqid: this.readI32() };
  }

  readStructBegin(): void {
    this.enter();
  }

  readStructEnd(): void {
    this.leave();
  }

  readFieldBegin(): { fname: string; ftype: number; fid: number } {
    const f = this.field;
    this.need(1);
    const type = this.buf[this.pos++]!;
    if (type === T.STOP) {
      f.ftype = T.STOP;
      f.fid = 0;
      return f;
    }
    this.need(2);
    f.ftype = type;
    f.fid = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return f;
  }

  readMapBegin(): { ktype: number; vtype: number; size: number } {
    this.need(6);
    const m = this.map;
    m.ktype = this.buf[this.pos]!;
    m.vtype = this.buf[this.pos + 1]!;
    m.size = this.buf.readInt32BE(this.pos + 2);
    this.pos += 6;
    this.enter();
    if (m.size !== 0) this.checkCount(m.size, binaryMinBytes(m.ktype) + binaryMinBytes(m.vtype), 'map');
    return m;
  }

  readMapEnd(): void {
    this.leave();
  }

  readListBegin(): { etype: number; size: number } {
    this.need(5);
    const l = this.list;
    l.etype = this.buf[this.pos]!;
    l.size = this.buf.readInt32BE(this.pos + 1);
    this.pos += 5;
    this.enter();
    if (l.size !== 0) this.checkCount(l.size, binaryMinBytes(l.etype), 'list');
    return l;
  }

  readListEnd(): void {
    this.leave();
  }

  readBool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  readByte(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  readI16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readI32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  readI64() {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    // Within ±2^53 the value is exact as a number: the common case avoids BigInt.
    if (hi >= -0x200000 && hi < 0x200000) return this.i64FromNumber(hi * 0x100000000 + lo);
    return this.i64FromBigInt((BigInt(hi) << 32n) | BigInt(lo));
  }

  readDouble(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  protected stringLength(): number {
    const n = this.readI32();
    this.checkLength(n);
    return n;
  }
}
