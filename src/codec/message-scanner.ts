/**
 * Finding where an unframed (buffered-transport) message ends, before decoding it.
 *
 * An unframed message carries no length, so a reader that decodes "until it runs out" and
 * starts again from the top on each new chunk does quadratic work on a large message that
 * arrives in many small reads. A scanner instead walks the message's structure once, keeping
 * its place (a stack of open structs and containers, bytes still to skip) between chunks: every
 * byte is looked at once, nothing is allocated, and every declared length and count is checked
 * against the {@link DecodeLimits} as soon as it is seen, so a lying header fails at once rather
 * than after megabytes were buffered for it. The message is decoded once, when it is whole.
 *
 * Over 400 lines on purpose: the binary, compact and JSON scanners share the resumable stack
 * machine and its limit checks; apart they would repeat it three times.
 */
import { type DecodeLimits, violation } from './decode-limits.js';
import { binaryMinBytes, T } from './input-protocol.js';
import type { ProtocolName } from './protocols.js';

/** A resumable scanner of one protocol's unframed messages. */
export interface MessageScanner {
  /**
   * Continues scanning the message that starts at `buf[start]`, with bytes available up to
   * `end`. Returns the offset just past the message when it is complete (the scanner is then
   * ready for the next one), else -1. The bytes already scanned must be passed again, at the
   * same distance from `start`, on the next call.
   * @throws ProtocolViolation on malformed input or a broken limit
   */
  scan(buf: Buffer, start: number, end: number): number;
  /** Bytes the current message needs at least, beyond what was scanned (a sizing hint). */
  readonly wanted: number;
  /**
   * Bytes this scanner has moved past, over every call (counted once per call, not per byte):
   * at most the bytes it was given once, however they were cut, for the reading to be linear.
   */
  readonly scanned: number;
  /**
   * Steps taken, over every call: binary and compact, one per field, value or container header
   * (a container of fixed-width values is one step, a list of varints one per chunk it spans);
   * JSON, one per byte. What a test counts to show a list is not walked element by element.
   */
  readonly steps: number;
  /** Forgets a partly scanned message. */
  reset(): void;
}

/** The scanner for a protocol. */
export function createScanner(protocol: ProtocolName, limits: DecodeLimits): MessageScanner {
  switch (protocol) {
    case 'binary':
      return new BinaryScanner(limits);
    case 'compact':
      return new CompactScanner(limits);
    case 'json':
      return new JsonScanner(limits);
  }
}

// --- internal ---

const K_STRUCT = 0;
const K_LIST = 1;
const K_MAP = 2;
/** Compact only: a list or set of varint integers (i16, i32, i64). */
const K_VARINTS = 3;
const VERSION_1 = 0x80010000 | 0;

/** Shared bookkeeping of the binary and compact scanners: the stack and the limits. */
abstract class StructureScanner implements MessageScanner {
  scanned = 0;
  steps = 0;
  protected off = 0;
  protected skipLeft = 0;
  protected inHeader = true;
  protected sp = 0;
  protected readonly kind: number[] = [];
  protected readonly left: number[] = [];
  protected readonly t1: number[] = [];
  protected readonly t2: number[] = [];

  constructor(protected readonly limits: DecodeLimits) {}

  get wanted(): number {
    return this.skipLeft;
  }

  reset(): void {
    this.off = 0;
    this.skipLeft = 0;
    this.inHeader = true;
    this.sp = 0;
  }

  scan(buf: Buffer, start: number, end: number): number {
    const from = start + this.off;
    let p = from;
    for (;;) {
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, end - p);
        p += take;
        this.skipLeft -= take;
        if (this.skipLeft > 0) break;
      }
      if (this.inHeader) {
        const next = this.header(buf, p, end, start);
        if (next < 0) break;
        p = next;
        this.inHeader = false;
        this.push(K_STRUCT, 0, 0, 0);
        continue;
      }
      if (this.sp === 0) {
        this.scanned += p - from;
        this.checkSize(p - start);
        this.reset();
        return p;
      }
      this.steps++;
      const next = this.element(buf, p, end, start);
      if (next < 0) break;
      p = next;
    }
    this.scanned += p - from;
    this.off = p - start;
    this.checkSize(this.off);
    return -1;
  }

  /** Scans the message header at `p`; returns the offset after it (struct begins), or -1. */
  protected abstract header(buf: Buffer, p: number, end: number, start: number): number;
  /** Scans the next field or element of the innermost struct/container, or -1. */
  protected abstract element(buf: Buffer, p: number, end: number, start: number): number;

  /**
   * A container whose elements all have one fixed width: its `bytes` are skipped by count, one
   * step instead of one per element (its count was checked, and it nests like any container).
   */
  protected skipElements(bytes: number, p: number): number {
    if (this.sp >= this.limits.maxDepth) violation(`nesting deeper than maxDepth ${this.limits.maxDepth}`);
    this.skipLeft = bytes;
    return p;
  }

  protected push(kind: number, left: number, t1: number, t2: number): void {
    if (this.sp >= this.limits.maxDepth) violation(`nesting deeper than maxDepth ${this.limits.maxDepth}`);
    const i = this.sp++;
    this.kind[i] = kind;
    this.left[i] = left;
    this.t1[i] = t1;
    this.t2[i] = t2;
  }

  /** Schedules `n` bytes to skip at message offset `at`. */
  protected skip(n: number, at: number, what: string): void {
    if (n < 0) violation(`negative ${what} length ${n}`);
    if (n > this.limits.maxStringBytes) {
      violation(`${what} of ${n} bytes exceeds maxStringBytes ${this.limits.maxStringBytes}`);
    }
    this.checkSize(at + n);
    this.skipLeft = n;
  }

  protected checkCount(n: number, minBytes: number, at: number, what: string): void {
    if (n < 0) violation(`negative ${what} size ${n}`);
    if (n > this.limits.maxContainerElements) {
      violation(`${what} of ${n} elements exceeds maxContainerElements ${this.limits.maxContainerElements}`);
    }
    this.checkSize(at + n * minBytes);
  }

  protected checkSize(bytes: number): void {
    if (bytes > this.limits.maxMessageBytes) {
      violation(`message of at least ${bytes} bytes exceeds maxMessageBytes ${this.limits.maxMessageBytes}`);
    }
  }
}

/** TBinaryProtocol: fixed-width values are skipped by count, strings by their i32 length. */
class BinaryScanner extends StructureScanner {
  protected header(buf: Buffer, p: number, end: number, start: number): number {
    // Strict: version|type, name length, name, seqid. Old non-strict: name length, name, type, seqid.
    if (end - p < 8) return -1;
    const v = buf.readInt32BE(p);
    if (v < 0) {
      if ((v & 0xffff0000) !== VERSION_1) {
        violation(`bad binary protocol version 0x${(v >>> 0).toString(16)} (another protocol or transport?)`);
      }
      const n = buf.readInt32BE(p + 4);
      this.skip(n, p + 8 - start, 'method name');
      this.skipLeft += 4;
      return p + 8;
    }
    this.skip(v, p + 4 - start, 'method name');
    this.skipLeft += 5;
    return p + 4;
  }

  protected element(buf: Buffer, p: number, end: number, start: number): number {
    const top = this.sp - 1;
    const kind = this.kind[top]!;
    if (kind === K_STRUCT) {
      if (end - p < 1) return -1;
      const type = buf[p]!;
      if (type === T.STOP) {
        this.sp--;
        return p + 1;
      }
      if (end - p < 3) return -1;
      return this.value(buf, p + 3, end, start, type);
    }
    const left = this.left[top]!;
    if (left === 0) {
      this.sp--;
      return p;
    }
    const type = kind === K_LIST || left % 2 === 0 ? this.t1[top]! : this.t2[top]!;
    const next = this.value(buf, p, end, start, type);
    if (next >= 0) this.left[top] = left - 1;
    return next;
  }

  /** Scans one value's header at `p` (its fixed-size body is skipped by count), or -1. */
  private value(buf: Buffer, p: number, end: number, start: number, type: number): number {
    switch (type) {
      case T.BOOL:
      case T.BYTE:
        this.skipLeft = 1;
        return p;
      case T.I16:
        this.skipLeft = 2;
        return p;
      case T.I32:
        this.skipLeft = 4;
        return p;
      case T.I64:
      case T.DOUBLE:
        this.skipLeft = 8;
        return p;
      case T.UUID:
        this.skipLeft = 16;
        return p;
      case T.STRING:
        if (end - p < 4) return -1;
        this.skip(buf.readInt32BE(p), p + 4 - start, 'string');
        return p + 4;
      case T.STRUCT:
        this.push(K_STRUCT, 0, 0, 0);
        return p;
      case T.LIST:
      case T.SET: {
        if (end - p < 5) return -1;
        const et = buf[p]!;
        const n = buf.readInt32BE(p + 1);
        if (n !== 0) this.checkCount(n, binaryMinBytes(et), p + 5 - start, 'list');
        const width = binaryFixedWidth(et);
        if (width > 0) return this.skipElements(n * width, p + 5);
        this.push(K_LIST, n, et, 0);
        return p + 5;
      }
      case T.MAP: {
        if (end - p < 6) return -1;
        const kt = buf[p]!;
        const vt = buf[p + 1]!;
        const n = buf.readInt32BE(p + 2);
        if (n !== 0) this.checkCount(n, binaryMinBytes(kt) + binaryMinBytes(vt), p + 6 - start, 'map');
        const kw = binaryFixedWidth(kt);
        const vw = binaryFixedWidth(vt);
        if (kw > 0 && vw > 0) return this.skipElements(n * (kw + vw), p + 6);
        this.push(K_MAP, n * 2, kt, vt);
        return p + 6;
      }
      default:
        return violation(`unknown type id ${type}`);
    }
  }
}

/** TCompactProtocol: varints must be whole before anything about them is committed. */
class CompactScanner extends StructureScanner {
  protected header(buf: Buffer, p: number, end: number, start: number): number {
    if (end - p < 2) return -1;
    if (buf[p] !== 0x82) {
      violation(`bad compact protocol id 0x${buf[p]!.toString(16)} (another protocol or transport?)`);
    }
    if ((buf[p + 1]! & 0x1f) !== 1) violation(`bad compact protocol version ${buf[p + 1]! & 0x1f}`);
    const seqLen = varintLength(buf, p + 2, end, 5);
    if (seqLen === 0) return -1;
    const nameAt = p + 2 + seqLen;
    const nameLen = varintLength(buf, nameAt, end, 5);
    if (nameLen === 0) return -1;
    this.skip(varintValue(buf, nameAt, nameLen), nameAt + nameLen - start, 'method name');
    return nameAt + nameLen;
  }

  protected element(buf: Buffer, p: number, end: number, start: number): number {
    const top = this.sp - 1;
    const kind = this.kind[top]!;
    if (kind === K_STRUCT) {
      if (end - p < 1) return -1;
      const b = buf[p]!;
      const ct = b & 0x0f;
      if (ct === 0) {
        this.sp--;
        return p + 1;
      }
      let at = p + 1;
      if (b >> 4 === 0) {
        const n = varintLength(buf, at, end, 5);
        if (n === 0) return -1;
        at += n;
      }
      // A bool field's value is its header's type.
      if (ct === 1 || ct === 2) return at;
      return this.value(buf, at, end, start, ct);
    }
    const left = this.left[top]!;
    if (left === 0) {
      this.sp--;
      return p;
    }
    if (kind === K_VARINTS) return this.varints(buf, p, end, top, left);
    const ct = kind === K_LIST || left % 2 === 0 ? this.t1[top]! : this.t2[top]!;
    const next = this.value(buf, p, end, start, ct);
    if (next >= 0) this.left[top] = left - 1;
    return next;
  }

  /**
   * Moves past the varints of a list of integers: the `left` still to find, each at most
   * `t1[top]` bytes; `t2[top]` holds the continuation bytes of one cut by the chunk's end.
   * Returns where it stopped (the list's end, or `end`), or -1 when no byte is left to look at.
   */
  private varints(buf: Buffer, p: number, end: number, top: number, left: number): number {
    if (p >= end) return -1;
    const max = this.t1[top]!;
    let run = this.t2[top]!;
    while (left > 0 && p < end) {
      if (buf[p++]! < 0x80) {
        left--;
        run = 0;
      } else if (++run >= max) {
        violation(`varint longer than ${max} bytes`);
      }
    }
    this.left[top] = left;
    this.t2[top] = run;
    return p;
  }

  private value(buf: Buffer, p: number, end: number, start: number, ct: number): number {
    switch (ct) {
      case 1:
      case 2:
      case 3:
        this.skipLeft = 1; // a bool inside a container is one byte
        return p;
      case 4:
      case 5: {
        const n = varintLength(buf, p, end, 5);
        return n === 0 ? -1 : p + n;
      }
      case 6: {
        const n = varintLength(buf, p, end, 10);
        return n === 0 ? -1 : p + n;
      }
      case 7:
        this.skipLeft = 8;
        return p;
      case 13:
        this.skipLeft = 16;
        return p;
      case 8: {
        const n = varintLength(buf, p, end, 5);
        if (n === 0) return -1;
        this.skip(varintValue(buf, p, n), p + n - start, 'string');
        return p + n;
      }
      case 9:
      case 10: {
        if (end - p < 1) return -1;
        const b = buf[p]!;
        const et = b & 0x0f;
        let size = b >> 4;
        let at = p + 1;
        if (size === 15) {
          const n = varintLength(buf, at, end, 5);
          if (n === 0) return -1;
          size = varintValue(buf, at, n);
          at += n;
        }
        if (size !== 0) this.checkCount(size, compactMinBytes(et), at - start, 'list');
        const width = compactFixedWidth(et);
        if (width > 0) return this.skipElements(size * width, at);
        // i16, i32, i64: a run of varints, walked by a byte loop rather than one step each.
        if (et >= 4 && et <= 6) this.push(K_VARINTS, size, et === 6 ? 10 : 5, 0);
        else this.push(K_LIST, size, et, 0);
        return at;
      }
      case 11: {
        const n = varintLength(buf, p, end, 5);
        if (n === 0) return -1;
        const size = varintValue(buf, p, n);
        let at = p + n;
        let kt = 0;
        let vt = 0;
        if (size !== 0) {
          if (end - at < 1) return -1;
          kt = buf[at]! >> 4;
          vt = buf[at]! & 0x0f;
          at++;
          this.checkCount(size, compactMinBytes(kt) + compactMinBytes(vt), at - start, 'map');
          const kw = compactFixedWidth(kt);
          const vw = compactFixedWidth(vt);
          if (kw > 0 && vw > 0) return this.skipElements(size * (kw + vw), at);
        }
        this.push(K_MAP, size * 2, kt, vt);
        return at;
      }
      case 12:
        this.push(K_STRUCT, 0, 0, 0);
        return p;
      default:
        return violation(`unknown compact type ${ct}`);
    }
  }
}

/** Width of every value of a binary-protocol type, or 0 when it varies (or the type is unknown). */
function binaryFixedWidth(type: number): number {
  switch (type) {
    case T.BOOL:
    case T.BYTE:
      return 1;
    case T.I16:
      return 2;
    case T.I32:
      return 4;
    case T.I64:
    case T.DOUBLE:
      return 8;
    case T.UUID:
      return 16;
    default:
      return 0;
  }
}

/** Width of every value of a compact type inside a container, or 0 when it varies (or is unknown). */
function compactFixedWidth(ct: number): number {
  return ct >= 1 && ct <= 3 ? 1 : ct === 7 ? 8 : ct === 13 ? 16 : 0;
}

/** Smallest encoding of one element of a compact type, for count checks. */
function compactMinBytes(ct: number): number {
  if (ct < 1 || ct > 13) violation(`unknown compact type ${ct}`);
  return ct === 7 ? 8 : ct === 13 ? 16 : 1;
}

/** Length of the varint at `p` (1..max), 0 when it is not complete yet. */
function varintLength(buf: Buffer, p: number, end: number, max: number): number {
  for (let i = 0; i < max; i++) {
    if (p + i >= end) return 0;
    if (buf[p + i]! < 0x80) return i + 1;
  }
  return violation(`varint longer than ${max} bytes`);
}

/** Value of a complete unsigned varint of at most 5 bytes, as a number in the i32 range or above. */
function varintValue(buf: Buffer, p: number, len: number): number {
  let v = 0;
  for (let i = 0, scale = 1; i < len; i++, scale *= 128) v += (buf[p + i]! & 0x7f) * scale;
  return v > 0x7fffffff ? -1 : v;
}

/**
 * TJSONProtocol: a message is one JSON array; it ends where the bracket depth returns to zero,
 * outside strings.
 */
class JsonScanner implements MessageScanner {
  scanned = 0;
  get steps(): number {
    return this.scanned;
  }
  private off = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  readonly wanted = 0;

  constructor(private readonly limits: DecodeLimits) {}

  reset(): void {
    this.off = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }

  scan(buf: Buffer, start: number, end: number): number {
    // A Thrift struct nests two JSON levels (object, then the field's type wrapper).
    const maxJsonDepth = this.limits.maxDepth * 2 + 2;
    const from = start + this.off;
    let p = from;
    let { depth, inString, escaped } = this;
    while (p < end) {
      const c = buf[p++]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) {
        inString = true;
      } else if (c === 0x5b || c === 0x7b) {
        if (depth === 0 && c !== 0x5b) violation('a JSON message must start with "["');
        if (++depth > maxJsonDepth) violation(`nesting deeper than maxDepth ${this.limits.maxDepth}`);
      } else if (c === 0x5d || c === 0x7d) {
        if (depth === 0) violation(`unexpected "${String.fromCharCode(c)}" outside a JSON message`);
        if (--depth === 0) {
          this.scanned += p - from;
          this.checkSize(p - start);
          this.reset();
          return p;
        }
      } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        violation(`a JSON message must start with "[", found byte 0x${c.toString(16)} (another protocol?)`);
      }
    }
    this.scanned += p - from;
    this.off = p - start;
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.checkSize(this.off);
    return -1;
  }

  private checkSize(bytes: number): void {
    if (bytes > this.limits.maxMessageBytes) {
      violation(`message of at least ${bytes} bytes exceeds maxMessageBytes ${this.limits.maxMessageBytes}`);
    }
  }
}
