/**
 * TJSONProtocol, read side, as a single forward pass over the message bytes:
 * `[1,"name",type,seqid,{"1":{"str":"..."},...}]`, lists `["i32",3,1,2,3]`, maps
 * `["str","i32",2,{"a":1,"b":2}]`, binary as base64, i64 as decimal digits.
 *
 * Apache's Node reader re-scans from the start for every element (quadratic) and yields
 * `undefined` for elements a lying count promises; this one reads each byte once and fails on
 * the first element that is not there. It accepts what the Apache writers of every language
 * produce: numbers quoted or not (map keys are always quoted), `NaN`/`Infinity` quoted or bare,
 * raw control characters inside strings (Apache's Node writer leaves some unescaped), and
 * insignificant whitespace.
 */
import { violation } from './decode-limits.js';
import { InputProtocol, latin1Slice, type MessageHeader, T, utf8Slice } from './input-protocol.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

const TYPE_IDS: Record<string, number> = {
  tf: T.BOOL,
  i8: T.BYTE,
  i16: T.I16,
  i32: T.I32,
  i64: T.I64,
  dbl: T.DOUBLE,
  str: T.STRING,
  rec: T.STRUCT,
  map: T.MAP,
  lst: T.LIST,
  set: T.SET,
  uid: T.UUID,
};

/** JSON protocol reader over one complete message. */
export class JsonInput extends InputProtocol {
  readMessageBegin(): MessageHeader {
    this.expect(0x5b); // [
    const version = this.readInt(-(2 ** 31), 2 ** 31 - 1, 'version');
    if (version !== 1) violation(`bad JSON protocol version ${version}`);
    const fname = this.readString();
    const mtype = this.readInt(0, 255, 'message type');
    const rseqid = this.readInt(-(2 ** 31), 2 ** 31 - 1, 'seqid');
    return { fname, mtype, rseqid };
  }

  override readMessageEnd(): void {
    this.expect(0x5d); // ]
  }

  readStructBegin(): void {
    this.expect(0x7b); // {
    this.enter();
  }

  readStructEnd(): void {
    this.expect(0x7d); // }
    this.leave();
  }

  readFieldBegin(): { fname: string; ftype: number; fid: number } {
    const f = this.field;
    const c = this.peek();
    if (c === 0x7d) {
      f.ftype = T.STOP;
      f.fid = 0;
      return f;
    }
    if (c === COMMA) this.pos++;
    f.fid = this.readInt(-32768, 32767, 'field id');
    this.expect(0x7b); // {
    f.ftype = this.readTypeName();
    return f;
  }

  override readFieldEnd(): void {
    this.expect(0x7d); // }
  }

  readMapBegin(): { ktype: number; vtype: number; size: number } {
    this.expect(0x5b); // [
    const m = this.map;
    m.ktype = this.readTypeName();
    m.vtype = this.readTypeName();
    m.size = this.readInt(-(2 ** 31), 2 ** 31 - 1, 'map size');
    this.expect(0x7b); // {
    this.enter();
    // Each pair takes at least `"":0,` on the wire.
    this.checkCount(m.size, 4, 'map');
    return m;
  }

  readMapEnd(): void {
    this.expect(0x7d); // }
    this.expect(0x5d); // ]
    this.leave();
  }

  readListBegin(): { etype: number; size: number } {
    this.expect(0x5b); // [
    const l = this.list;
    l.etype = this.readTypeName();
    l.size = this.readInt(-(2 ** 31), 2 ** 31 - 1, 'list size');
    this.enter();
    // Each element takes at least one byte and a comma.
    this.checkCount(l.size, 2, 'list');
    return l;
  }

  readListEnd(): void {
    this.expect(0x5d); // ]
    this.leave();
  }

  readBool(): boolean {
    const t = this.numberText();
    if (t === '1' || t === 'true') return true;
    if (t === '0' || t === 'false') return false;
    return violation(`expected a bool (0 or 1), found ${JSON.stringify(t.slice(0, 20))}`);
  }

  readByte(): number {
    return this.readInt(-128, 127, 'i8');
  }

  readI16(): number {
    return this.readInt(-32768, 32767, 'i16');
  }

  readI32(): number {
    return this.readInt(-(2 ** 31), 2 ** 31 - 1, 'i32');
  }

  readI64() {
    const t = this.numberText();
    if (!isInteger(t)) violation(`expected an i64, found ${JSON.stringify(t.slice(0, 30))}`);
    if (t.length <= 15) return this.i64FromNumber(Number(t));
    const v = BigInt(t);
    if (v !== BigInt.asIntN(64, v)) violation(`i64 value ${t.slice(0, 30)} out of range`);
    return this.i64FromBigInt(v);
  }

  readDouble(): number {
    const t = this.numberText();
    if (t === 'NaN') return Number.NaN;
    if (t === 'Infinity') return Number.POSITIVE_INFINITY;
    if (t === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (!isDecimal(t)) violation(`expected a double, found ${JSON.stringify(t.slice(0, 30))}`);
    return Number(t);
  }

  readString(): string {
    const end = this.stringSpan();
    const s = this.stringAt(end);
    // Without escapes the JSON bytes are the UTF-8 bytes; with them, measure the text.
    this.checkSize(s.length === end - this.spanStart ? end - this.spanStart : Buffer.byteLength(s));
    return s;
  }

  readBinary(): Buffer {
    const end = this.stringSpan();
    const b = Buffer.from(latin1Slice(this.buf, this.spanStart, end), 'base64');
    this.checkSize(b.length);
    return b;
  }

  readUuid(): string {
    return this.readString();
  }

  protected skipString(): void {
    this.stringSpan();
  }

  // --- internal ---

  private checkSize(bytes: number): void {
    if (bytes > this.limits.maxStringBytes) {
      violation(`string of ${bytes} bytes exceeds maxStringBytes ${this.limits.maxStringBytes}`);
    }
  }

  /** Start of the string content found by the last {@link stringSpan}. */
  private spanStart = 0;

  /**
   * Finds the next JSON string: `spanStart` is set to its first content byte, the end of its
   * content (the closing quote) is returned, and `pos` moves past the closing quote.
   */
  private stringSpan(): number {
    this.expect(QUOTE);
    const start = this.pos;
    const buf = this.buf;
    let i = start;
    for (;;) {
      const q = buf.indexOf(QUOTE, i);
      if (q < 0 || q >= this.end) violation('unterminated string');
      // Escaped when preceded by an odd number of backslashes.
      let bs = 0;
      while (q - bs - 1 >= start && buf[q - bs - 1] === BACKSLASH) bs++;
      if (bs % 2 === 0) {
        this.spanStart = start;
        this.pos = q + 1;
        return q;
      }
      i = q + 1;
    }
  }

  /** The decoded text of the span ending at `end` (escapes resolved). */
  private stringAt(end: number): string {
    const start = this.spanStart;
    if (!hasBackslash(this.buf, start, end)) return this.text(start, end);
    return unescape(this.buf, start, end);
  }

  /** The next type name (`"i32"`, `"rec"`, ...) as a Thrift type id. */
  private readTypeName(): number {
    const end = this.stringSpan();
    const id = TYPE_IDS[latin1Slice(this.buf, this.spanStart, end)];
    if (id === undefined) {
      violation(`unknown JSON type name ${JSON.stringify(latin1Slice(this.buf, this.spanStart, Math.min(end, this.spanStart + 10)))}`);
    }
    return id;
  }

  private readInt(min: number, max: number, what: string): number {
    const t = this.numberText();
    if (!isInteger(t)) violation(`expected an integer ${what}, found ${JSON.stringify(t.slice(0, 30))}`);
    const v = Number(t);
    if (v < min || v > max) violation(`${what} ${v} out of range`);
    return v;
  }

  /** The text of the next number token, quoted or not (without the quotes). */
  private numberText(): string {
    if (this.peek() === QUOTE) {
      const end = this.stringSpan();
      if (end - this.spanStart > 40) violation('number too long');
      return latin1Slice(this.buf, this.spanStart, end);
    }
    const buf = this.buf;
    const start = this.pos;
    let i = start;
    // Digits, sign, exponent, and the letters of NaN / Infinity / true / false.
    while (i < this.end && i - start <= 40) {
      const c = buf[i]!;
      if ((c >= 0x30 && c <= 0x39) ||
        c === 0x2d ||
        c === 0x2b ||
        c === 0x2e ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a)) i++;
      else break;
    }
    if (i === start) violation(`expected a number at byte ${start}, found ${describe(buf, start, this.end)}`);
    if (i - start > 40) violation('number too long');
    this.pos = i;
    return latin1Slice(buf, start, i);
  }

  /**
   * Skips whitespace and at most one separator (`,` or `:`), then returns the next byte
   * without consuming it. A message that ends here is truncated.
   */
  private peek(): number {
    const buf = this.buf;
    let i = this.pos;
    let separated = false;
    for (;;) {
      if (i >= this.end) violation('message ends early (truncated JSON)');
      const c = buf[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else if ((c === COMMA || c === COLON) && !separated) {
        separated = true;
        i++;
      } else break;
    }
    // A comma before a struct's closing brace or a first field is kept for readFieldBegin.
    if (separated && buf[this.pos] === COMMA && buf[i] === 0x7d) violation('unexpected "," before "}"');
    this.pos = i;
    return buf[i]!;
  }

  private expect(c: number): void {
    if (this.peek() !== c) {
      violation(`expected "${String.fromCharCode(c)}" at byte ${this.pos}, found ${describe(this.buf, this.pos, this.end)}`);
    }
    this.pos++;
  }
}

// --- internal ---

/** Whether `buf[start..end)` holds a backslash; bounded, so a long message is not rescanned per string. */
function hasBackslash(buf: Buffer, start: number, end: number): boolean {
  if (end - start > 64) return buf.subarray(start, end).indexOf(BACKSLASH) >= 0;
  for (let i = start; i < end; i++) if (buf[i] === BACKSLASH) return true;
  return false;
}

/** `-?[0-9]+` */
function isInteger(t: string): boolean {
  let i = t.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === t.length) return false;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A JSON number: `-?digits[.digits][e[+-]digits]` (no hex, no empty string). */
function isDecimal(t: string): boolean {
  return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t);
}

function describe(buf: Buffer, pos: number, end: number): string {
  if (pos >= end) return 'the end of the message';
  return JSON.stringify(latin1Slice(buf, pos, Math.min(end, pos + 12)));
}

const ESCAPES: Record<number, string> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

/** Decodes a JSON string body with escapes; raw bytes between escapes are UTF-8. */
function unescape(buf: Buffer, start: number, end: number): string {
  let out = '';
  let run = start;
  let i = start;
  while (i < end) {
    if (buf[i] !== BACKSLASH) {
      i++;
      continue;
    }
    if (i > run) out += utf8Slice(buf, run, i);
    const e = buf[i + 1];
    if (e === 0x75) {
      // \uXXXX (UTF-16 code unit; a surrogate pair is two escapes and joins by concatenation)
      const hex = latin1Slice(buf, i + 2, i + 6);
      if (i + 6 > end || !/^[0-9a-fA-F]{4}$/.test(hex)) violation('bad \\u escape in string');
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
    } else {
      const ch = e === undefined ? undefined : ESCAPES[e];
      if (ch === undefined || i + 1 >= end) violation('bad escape in string');
      out += ch;
      i += 2;
    }
    run = i;
  }
  if (run < end) out += utf8Slice(buf, run, end);
  return out;
}
