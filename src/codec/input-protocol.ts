/**
 * The base of thrifthost's bounded input protocols: what the generated `X_args.read(input)` /
 * `X_result.read(input)` code calls, reading straight from one complete message in a Buffer.
 *
 * Every subclass checks each declared length and count before it allocates or loops: against
 * the {@link DecodeLimits} and against the bytes left in the message (which is always complete
 * when decoding starts: the transport layer finds the message's end first). Nesting depth is
 * counted on struct and container entry. A violation throws {@link ProtocolViolation}.
 */
import thrift from 'thrift';
import { type DecodeLimits, type I64Mode, violation } from './decode-limits.js';

const { Int64 } = thrift;
type Int64 = thrift.Int64;

/** Thrift wire type ids (`Thrift.Type`). */
/** A binary value at least this big may be handed out as a view of the receive buffer. */
const MIN_VIEW_BYTES = 64 * 1024;

export const T = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
  UUID: 16,
} as const;

/** What `readMessageBegin` returns (the generated code's names). */
export interface MessageHeader {
  fname: string;
  mtype: number;
  rseqid: number;
}

/** Reused result objects: the generated code copies their fields out at once. */
interface FieldHeader {
  fname: string;
  ftype: number;
  fid: number;
}
interface ListHeader {
  etype: number;
  size: number;
}
interface MapHeader {
  ktype: number;
  vtype: number;
  size: number;
}

/** A bounded input protocol over one complete message. */
export abstract class InputProtocol {
  protected buf: Buffer = EMPTY;
  /** Next byte to read. */
  pos = 0;
  /** End of the message (exclusive). */
  end = 0;
  protected depth = 0;
  protected readonly field: FieldHeader = { fname: '', ftype: 0, fid: 0 };
  protected readonly list: ListHeader = { etype: 0, size: 0 };
  protected readonly map: MapHeader = { ktype: 0, vtype: 0, size: 0 };

  constructor(
    protected readonly limits: DecodeLimits,
    protected readonly i64: I64Mode = 'int64',
  ) {}

  /** Points the protocol at the message `buf[start..end)`. */
  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.depth = 0;
    this.resetState();
  }

  abstract readMessageBegin(): MessageHeader;
  readMessageEnd(): void {}
  abstract readStructBegin(): void;
  abstract readStructEnd(): void;
  abstract readFieldBegin(): FieldHeader;
  readFieldEnd(): void {}
  abstract readMapBegin(): MapHeader;
  abstract readMapEnd(): void;
  abstract readListBegin(): ListHeader;
  abstract readListEnd(): void;
  readSetBegin(): ListHeader {
    return this.readListBegin();
  }
  readSetEnd(): void {
    this.readListEnd();
  }
  abstract readBool(): boolean;
  abstract readByte(): number;
  abstract readI16(): number;
  abstract readI32(): number;
  abstract readI64(): Int64 | bigint;
  abstract readDouble(): number;
  abstract readString(): string;
  abstract readBinary(): Buffer;
  abstract readUuid(): string;

  /** Skips one value of `type`, bounded like every read. */
  skip(type: number): void {
    switch (type) {
      case T.BOOL:
        this.readBool();
        return;
      case T.BYTE:
        this.readByte();
        return;
      case T.I16:
        this.readI16();
        return;
      case T.I32:
        this.readI32();
        return;
      case T.I64:
        this.readI64();
        return;
      case T.DOUBLE:
        this.readDouble();
        return;
      case T.STRING:
        this.skipString();
        return;
      case T.UUID:
        this.readUuid();
        return;
      case T.STRUCT: {
        this.readStructBegin();
        for (;;) {
          const ftype = this.readFieldBegin().ftype;
          if (ftype === T.STOP) break;
          this.skip(ftype);
          this.readFieldEnd();
        }
        this.readStructEnd();
        return;
      }
      case T.MAP: {
        const { ktype, vtype, size } = this.readMapBegin();
        for (let i = 0; i < size; i++) {
          this.skip(ktype);
          this.skip(vtype);
        }
        this.readMapEnd();
        return;
      }
      case T.SET:
      case T.LIST: {
        const { etype, size } = this.readListBegin();
        for (let i = 0; i < size; i++) this.skip(etype);
        this.readListEnd();
        return;
      }
      default:
        violation(`cannot skip a value of unknown type ${type}`);
    }
  }

  // --- for subclasses ---

  /** Per-message state of a subclass (compact's field-id stack, JSON's pending separators). */
  protected resetState(): void {}

  /** Skips a string or binary without decoding it. */
  protected abstract skipString(): void;

  protected enter(): void {
    if (++this.depth > this.limits.maxDepth) {
      violation(`nesting deeper than maxDepth ${this.limits.maxDepth}`);
    }
  }

  protected leave(): void {
    this.depth--;
  }

  /** Throws unless `n` bytes remain. */
  protected need(n: number): void {
    if (this.pos + n > this.end) {
      violation(`message ends ${this.pos + n - this.end} byte(s) early (truncated or a wrong length)`);
    }
  }

  /** Checks a declared string/binary length before it is read. */
  protected checkLength(n: number): void {
    if (n < 0) violation(`negative string length ${n}`);
    if (n > this.limits.maxStringBytes) {
      violation(`string of ${n} bytes exceeds maxStringBytes ${this.limits.maxStringBytes}`);
    }
    if (n > this.end - this.pos) {
      violation(`string of ${n} bytes declared with only ${this.end - this.pos} bytes left in the message`);
    }
  }

  /** Checks a declared container size; each element takes at least `minBytes` on the wire. */
  protected checkCount(n: number, minBytes: number, what: string): void {
    if (n < 0) violation(`negative ${what} size ${n}`);
    if (n > this.limits.maxContainerElements) {
      violation(`${what} of ${n} elements exceeds maxContainerElements ${this.limits.maxContainerElements}`);
    }
    if (n * minBytes > this.end - this.pos) {
      violation(`${what} of ${n} elements declared with only ${this.end - this.pos} bytes left in the message`);
    }
  }

  /** An i64 from a safe integer, in the configured representation. */
  protected i64FromNumber(v: number): Int64 | bigint {
    if (this.i64 === 'bigint') return BigInt(v);
    // node-int64's own number constructor calls the deprecated Buffer(): fill 8 bytes ourselves.
    const b = Buffer.allocUnsafe(8);
    const hi = Math.floor(v / 0x100000000);
    b.writeInt32BE(hi, 0);
    b.writeUInt32BE(v - hi * 0x100000000, 4);
    return new Int64(b);
  }

  /** An i64 from a bigint in range, in the configured representation. */
  protected i64FromBigInt(v: bigint): Int64 | bigint {
    if (this.i64 === 'bigint') return v;
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(v);
    return new Int64(b);
  }

  /**
   * `buf[start..end)` as a Buffer of its own: a copy, so that a small value does not keep the
   * receive buffer alive; a view when the value is big and is at least half the memory behind
   * the receive buffer (a 1 MiB binary in a 1 MiB frame), where a copy would only double the
   * memory and the garbage. Received bytes are never overwritten, so the view stays valid.
   */
  protected copyBytes(start: number, end: number): Buffer {
    const n = end - start;
    if (n >= MIN_VIEW_BYTES && 2 * n >= this.buf.buffer.byteLength) return this.buf.subarray(start, end);
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, start, end);
    return out;
  }

  /** UTF-8 text of `buf[start..end)`. */
  protected text(start: number, end: number): string {
    return start === end ? '' : utf8Slice(this.buf, start, end);
  }

  /** 16 bytes at `pos` as a canonical UUID string. */
  protected uuidAt(pos: number): string {
    const h = this.buf.toString('hex', pos, pos + 16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** Binary and compact: strings and binaries are a length prefix, then the bytes. */
export abstract class LengthPrefixedInput extends InputProtocol {
  readString(): string {
    const n = this.stringLength();
    const s = this.text(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A copy of the bytes, so that no value pins the message buffer. */
  readBinary(): Buffer {
    const n = this.stringLength();
    const b = this.copyBytes(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  readUuid(): string {
    this.need(16);
    const s = this.uuidAt(this.pos);
    this.pos += 16;
    return s;
  }

  /** Skips a string or binary without decoding it. */
  protected skipString(): void {
    const n = this.stringLength();
    this.pos += n;
  }

  /** Reads and checks a string/binary length prefix; the bytes follow at `pos`. */
  protected abstract stringLength(): number;
}

/** The smallest encoding of one value of `type` in the binary protocol (for count checks). */
export function binaryMinBytes(type: number): number {
  switch (type) {
    case T.BOOL:
    case T.BYTE:
    case T.STRUCT:
      return 1;
    case T.I16:
      return 2;
    case T.I32:
    case T.STRING:
      return 4;
    case T.I64:
    case T.DOUBLE:
      return 8;
    case T.SET:
    case T.LIST:
      return 5;
    case T.MAP:
      return 6;
    case T.UUID:
      return 16;
    default:
      return violation(`unknown type id ${type}`);
  }
}

const EMPTY = Buffer.alloc(0);

/** Node's Buffer decoders without `toString`'s argument handling (present since Node 0.x, untyped). */
type FastSlices = { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

/** UTF-8 text of `buf[start..end)`. */
export function utf8Slice(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).utf8Slice(start, end);
}

/** Latin-1 text of `buf[start..end)` (ASCII tokens, base64). */
export function latin1Slice(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}
