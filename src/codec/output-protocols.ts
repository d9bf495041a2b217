/**
 * Writing protocols for a {@link WriteBuffer}: Apache's binary, compact and JSON protocol
 * classes with their primitive writes redirected into the buffer and every value checked.
 *
 * The Apache classes allocate a Buffer for every byte, integer and string they write; profiles
 * of the host showed that as most of the JavaScript spent per reply. They also write whatever
 * they are given: an i32 of 2^40 is silently truncated, a string i64 is parsed as hex. Here an
 * out-of-range or wrong-typed value throws a TypeError naming the field being written, so the
 * host answers INTERNAL_ERROR and a caller gets an error instead of a corrupt message. The wire
 * format is unchanged.
 */
import thrift from 'thrift';
import type { WriteBuffer } from './write-buffer.js';

type WriteMethods = {
  trans: WriteBuffer;
  _seqid: number | null;
  writeVarint32(n: number): void;
  writeI32(v: number): void;
  writeFieldBegin(name: string, type: number, id: number): void;
};

/**
 * A protocol object writing into `writer`: the fast, checking subclass of the Apache class for
 * binary, compact and JSON; the Apache class itself for any other protocol.
 */
export function createOutputProtocol(Protocol: thrift.ProtocolClass, writer: WriteBuffer): thrift.TProtocol {
  if (Protocol === thrift.TBinaryProtocol) return new BinaryOutput(writer) as unknown as thrift.TProtocol;
  if (Protocol === thrift.TCompactProtocol) return new CompactOutput(writer) as unknown as thrift.TProtocol;
  if (Protocol === thrift.TJSONProtocol) return new JsonOutput(writer) as unknown as thrift.TProtocol;
  return new Protocol(writer);
}

/** Says where a bad value was met; read only when a check fails. */
export interface Where {
  readonly where: string;
}

/**
 * An i64 value as a bigint: a node-int64 `Int64`, a bigint in range, a safe integer, or a string
 * of decimal digits (the keys of a `map<i64, ...>` kept as a plain object are strings). Any other
 * string is refused: node-int64 would read it as hex.
 * @throws TypeError naming `where`
 */
export function i64Value(v: unknown, at: Where | string): bigint {
  const where = () => (typeof at === 'string' ? at : at.where);
  if (typeof v === 'bigint') {
    if (v !== BigInt.asIntN(64, v)) throw new TypeError(`${where()}: i64 value ${v} out of range`);
    return v;
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new TypeError(`${where()}: i64 value ${v} is not a safe integer (use a bigint or Int64)`);
    }
    return BigInt(v);
  }
  if (v instanceof thrift.Int64) return v.buffer.readBigInt64BE((v as unknown as { offset?: number }).offset ?? 0);
  if (typeof v === 'string') {
    if (DECIMAL_INTEGER.test(v)) return i64Value(BigInt(v), at);
    throw new TypeError(`${where()}: i64 value is the string ${JSON.stringify(v.slice(0, 30))}; pass a number, bigint or Int64`);
  }
  throw new TypeError(`${where()}: expected an i64 (number, bigint or Int64), got ${kind(v)}`);
}

// --- internal ---

const apacheBinary = (thrift.TBinaryProtocol as unknown as { prototype: Record<string, Function> }).prototype;
const apacheCompact = (thrift.TCompactProtocol as unknown as { prototype: Record<string, Function> })
  .prototype;
const apacheJson = (thrift.TJSONProtocol as unknown as { prototype: Record<string, Function> }).prototype;

const TWO_32 = 4294967296;
const DECIMAL_INTEGER = /^-?\d{1,20}$/;



function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 30))}` : `${typeof v} ${String(v).slice(0, 30)}`;
}

/**
 * `v` if it is an integer in [min, max]; a string of decimal digits (a map key kept in a plain
 * object) counts as its number. Throws a TypeError naming the field otherwise.
 */
function checkInt(v: unknown, min: number, max: number, type: string, at: Where): number {
  if (typeof v === 'number' && v >= min && v <= max && Number.isInteger(v)) return v;
  if (typeof v === 'string' && DECIMAL_INTEGER.test(v)) return checkInt(Number(v), min, max, type, at);
  throw new TypeError(`${at.where}: ${type} value ${kind(v)} is not an integer in [${min}, ${max}]`);
}

function checkDouble(v: unknown, at: Where): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v); // a map key
  throw new TypeError(`${at.where}: expected a double, got ${kind(v)}`);
}

function checkBool(v: unknown, at: Where): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true'; // a map key
  throw new TypeError(`${at.where}: expected a bool, got ${kind(v)}`);
}

/**
 * Mixes the checked primitive writes into an Apache protocol class. `field` is the field being
 * written, for error messages.
 */
type Ctor = new (...args: any[]) => WriteMethods;

function checked<C extends Ctor>(Base: C) {
  return class Checked extends Base {
    field = '';

    override writeFieldBegin(name: string, type: number, id: number): void {
      this.field = name;
      super.writeFieldBegin(name, type, id);
    }

    get where(): string {
      return this.field ? `field '${this.field}'` : 'value';
    }
  };
}

const BinaryBase = checked(thrift.TBinaryProtocol as unknown as Ctor);
const CompactBase = checked(thrift.TCompactProtocol as unknown as Ctor);
const JsonBase = checked(thrift.TJSONProtocol as unknown as Ctor);

/** TBinaryProtocol whose primitive writes are checked and go straight into the WriteBuffer. */
class BinaryOutput extends BinaryBase {
  writeBool(v: unknown): void {
    this.trans.writeByte(checkBool(v, this) ? 1 : 0);
  }

  writeByte(b: number): void {
    this.trans.writeByte(checkInt(b, -128, 127, 'byte', this));
  }

  writeI16(v: number): void {
    this.trans.writeI16BE(checkInt(v, -32768, 32767, 'i16', this));
  }

  override writeI32(v: number): void {
    this.trans.writeI32BE(checkInt(v, -2147483648, 2147483647, 'i32', this));
  }

  writeI64(v: unknown): void {
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      const hi = Math.floor(v / TWO_32);
      this.trans.writeI32BE(hi);
      this.trans.writeI32BE(v - hi * TWO_32);
      return;
    }
    const big = i64Value(v, this);
    this.trans.writeI32BE(Number(big >> 32n));
    this.trans.writeI32BE(Number(BigInt.asUintN(32, big)));
  }

  writeDouble(v: number): void {
    apacheBinary.writeDouble!.call(this, checkDouble(v, this));
  }

  writeStringOrBinary(name: string, encoding: BufferEncoding, arg: unknown): void {
    if (typeof arg === 'string') {
      if (this.trans.writeShortAscii(arg, 4)) return; // same bytes in utf8 and binary (latin1)
      if (encoding === 'utf8') {
        this.trans.writeUtf8WithLength(arg, 'i32');
        return;
      }
      const n = Buffer.byteLength(arg, encoding);
      this.trans.writeI32BE(n);
      this.trans.writeText(arg, encoding, n);
    } else if (arg instanceof Uint8Array) {
      this.trans.writeI32BE(arg.length);
      this.trans.write(arg);
    } else {
      throw new TypeError(`${this.where}: expected a string or Buffer, got ${kind(arg)} (string/Buffer)`);
    }
  }
}

/** TCompactProtocol whose primitive writes are checked and go straight into the WriteBuffer. */
class CompactOutput extends CompactBase {
  // Apache's compact code writes its header bytes (0x82, type nibbles, sizes) through writeByte.
  writeByte(b: number): void {
    this.trans.writeByte(checkInt(b, -128, 255, 'byte', this));
  }

  writeI16(v: number): void {
    const n = checkInt(v, -32768, 32767, 'i16', this);
    this.trans.writeVarint32((n << 1) ^ (n >> 31));
  }

  override writeI32(v: number): void {
    const n = checkInt(v, -2147483648, 2147483647, 'i32', this);
    this.trans.writeVarint32((n << 1) ^ (n >> 31));
  }

  writeI64(v: unknown): void {
    // zigzag, then LEB128; numbers below 2^52 in magnitude stay exact as doubles.
    if (typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) < 2 ** 52) {
      let z = v >= 0 ? v * 2 : -v * 2 - 1;
      while (z >= 0x80) {
        this.trans.writeByte((z % 0x80) | 0x80);
        z = Math.floor(z / 0x80);
      }
      this.trans.writeByte(z);
      return;
    }
    const big = i64Value(v, this);
    let z = BigInt.asUintN(64, (big << 1n) ^ (big >> 63n));
    while (z >= 0x80n) {
      this.trans.writeByte(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    this.trans.writeByte(Number(z));
  }

  writeBool(v: unknown): void {
    apacheCompact.writeBool!.call(this, checkBool(v, this));
  }

  writeDouble(v: number): void {
    apacheCompact.writeDouble!.call(this, checkDouble(v, this));
  }

  override writeVarint32(n: number): void {
    this.trans.writeVarint32(n);
  }

  writeStringOrBinary(name: string, encoding: BufferEncoding, arg: unknown): void {
    if (typeof arg === 'string') {
      if (this.trans.writeShortAscii(arg, 1)) return;
      if (encoding === 'utf8') {
        this.trans.writeUtf8WithLength(arg, 'varint');
        return;
      }
      const n = Buffer.byteLength(arg, encoding);
      this.trans.writeVarint32(n);
      this.trans.writeText(arg, encoding, n);
    } else if (arg instanceof Uint8Array) {
      this.trans.writeVarint32(arg.length);
      this.trans.write(arg);
    } else {
      throw new TypeError(`${this.where}: expected a string or Buffer, got ${kind(arg)} (string/Buffer)`);
    }
  }

  /** Apache's compact protocol never clears the seqid, then warns on every later message. */
  writeMessageEnd(): void {
    this._seqid = null;
  }
}

/** TJSONProtocol (Apache's writer) with every primitive checked first. */
class JsonOutput extends JsonBase {
  writeBool(v: unknown): void {
    apacheJson.writeBool!.call(this, checkBool(v, this));
  }

  writeByte(b: number): void {
    apacheJson.writeByte!.call(this, checkInt(b, -128, 127, 'byte', this));
  }

  writeI16(v: number): void {
    apacheJson.writeI16!.call(this, checkInt(v, -32768, 32767, 'i16', this));
  }

  override writeI32(v: number): void {
    apacheJson.writeI32!.call(this, checkInt(v, -2147483648, 2147483647, 'i32', this));
  }

  writeI64(v: unknown): void {
    const text = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : String(i64Value(v, this));
    (this as unknown as { tstack: unknown[] }).tstack.push(text);
  }

  writeDouble(v: number): void {
    const d = checkDouble(v, this);
    // Bare NaN / Infinity are not JSON: the Thrift JSON protocol quotes them.
    (this as unknown as { tstack: unknown[] }).tstack.push(Number.isFinite(d) ? d : `"${d}"`);
  }

  writeString(arg: unknown): void {
    if (typeof arg !== 'string' && !(arg instanceof Uint8Array)) {
      throw new TypeError(`${this.where}: expected a string or Buffer, got ${kind(arg)} (string/Buffer)`);
    }
    // JSON.stringify escapes every control character; Apache's writer leaves most of them raw.
    (this as unknown as { tstack: unknown[] }).tstack.push(
      JSON.stringify(typeof arg === 'string' ? arg : Buffer.from(arg).toString('utf8')),
    );
  }

  writeBinary(arg: unknown): void {
    if (typeof arg !== 'string' && !(arg instanceof Uint8Array)) {
      throw new TypeError(`${this.where}: expected a Buffer, got ${kind(arg)} (string/Buffer)`);
    }
    apacheJson.writeBinary!.call(this, arg);
  }

  writeListEnd(): void {
    this.endList();
  }

  writeSetEnd(): void {
    this.endList();
  }

  /**
   * Apache's writeListEnd/writeSetEnd move the elements into the list one `splice` at a time,
   * which shifts every element behind: quadratic in the element count (a set of 160,000
   * strings took 110 s to write). Same output, one splice.
   */
  private endList(): void {
    const self = this as unknown as { tstack: unknown[]; tpos: number[] };
    const p = self.tpos.pop()!;
    const head = self.tstack[p] as unknown[];
    self.tstack[p] = `[${head.concat(self.tstack.splice(p + 1)).join(',')}]`;
    apacheJson.writeToTransportIfStackIsFlushable!.call(this);
  }
}
