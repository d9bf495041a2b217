/**
 * An output transport that gathers what a protocol writes for one message and hands the
 * finished message (with its 4-byte frame header when framed) to a sink on `flush()`.
 *
 * A message is written straight into a scratch buffer that the next message reuses, and
 * copied out on flush into a Buffer of its exact size, which the sink may keep as long as it
 * likes. Compared with gathering one small Buffer per field and concatenating them, a reply
 * costs one allocation; a small one lives on the JS heap, where a young-generation GC frees
 * it, rather than in external memory that piles up between collections.
 */

/** Receives one complete, ready-to-send message. */
export type MessageSink = (message: Buffer) => void;

/** First size of the scratch buffer (allocated on first use; grows by doubling). */
const SCRATCH_BYTES = 1024;
/**
 * A scratch buffer grown past this for a big message goes out with it instead of being copied.
 * Below it the scratch is kept: a new buffer of twice the message per reply cost more (in
 * allocation and GC) than copying the message out of a kept one.
 */
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;
/**
 * A string with at most this many UTF-16 units is written without measuring it first: room for
 * its worst case (3 bytes a unit) is made, it is encoded, and its length filled in after.
 * `Buffer.byteLength` costs several times the encoding itself.
 */
const UNMEASURED_STRING_UNITS = 256 * 1024;
/** Longest string {@link WriteBuffer.writeShortAscii} takes (its varint length is one byte). */
const SHORT_STRING = 64;
/** V8 keeps typed arrays up to this size on the JS heap (`--typed-array-max-size-in-heap`). */
const ON_HEAP_BYTES = 64;

const EMPTY = Buffer.alloc(0);

/** Output transport used by both the host and the client. */
export class WriteBuffer {
  private scratch: Buffer = EMPTY;
  /** Next byte to write; the message (frame header included) starts at 0. */
  private pos: number;
  private readonly header: number;

  /**
   * @param framed prepend the 4-byte big-endian frame length on flush
   * @param sink receives each flushed message; replace it freely between messages
   */
  constructor(
    readonly framed: boolean,
    public sink: MessageSink,
  ) {
    this.header = framed ? 4 : 0;
    this.pos = this.header;
  }

  /** Appends bytes (a string is written as UTF-8). */
  write(data: Buffer | Uint8Array | string): void {
    if (typeof data === 'string') {
      this.writeText(data, 'utf8', Buffer.byteLength(data, 'utf8'));
      return;
    }
    const n = data.length;
    if (this.pos + n > this.scratch.length) this.grow(n);
    this.scratch.set(data, this.pos);
    this.pos += n;
  }

  /** Appends one byte (the value is truncated to 8 bits, as a Uint8Array store does). */
  writeByte(b: number): void {
    if (this.pos + 1 > this.scratch.length) this.grow(1);
    this.scratch[this.pos++] = b;
  }

  /** Appends a big-endian 16-bit integer (truncated to 16 bits, never range-checked). */
  writeI16BE(v: number): void {
    if (this.pos + 2 > this.scratch.length) this.grow(2);
    const s = this.scratch;
    const p = this.pos;
    s[p] = v >> 8;
    s[p + 1] = v;
    this.pos = p + 2;
  }

  /** Appends a big-endian 32-bit integer (truncated to 32 bits, never range-checked). */
  writeI32BE(v: number): void {
    if (this.pos + 4 > this.scratch.length) this.grow(4);
    const s = this.scratch;
    const p = this.pos;
    s[p] = v >> 24;
    s[p + 1] = v >> 16;
    s[p + 2] = v >> 8;
    s[p + 3] = v;
    this.pos = p + 4;
  }

  /** Appends an unsigned LEB128 varint of the low 32 bits of `n` (the compact protocol's). */
  writeVarint32(n: number): void {
    if (this.pos + 5 > this.scratch.length) this.grow(5);
    const s = this.scratch;
    let p = this.pos;
    n >>>= 0;
    while (n > 0x7f) {
      s[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    s[p++] = n;
    this.pos = p;
  }

  /** Appends `text` in `encoding`; `byteLength` must be `Buffer.byteLength(text, encoding)`. */
  writeText(text: string, encoding: BufferEncoding, byteLength: number): void {
    if (this.pos + byteLength > this.scratch.length) this.grow(byteLength);
    this.pos += this.scratch.write(text, this.pos, byteLength, encoding);
  }

  /**
   * Appends `text` as UTF-8 after its byte length: a big-endian i32 when `prefix` is 'i32'
   * (binary protocol), an unsigned varint when 'varint' (compact protocol).
   */
  writeUtf8WithLength(text: string, prefix: 'i32' | 'varint'): void {
    const units = text.length;
    if (units > UNMEASURED_STRING_UNITS) {
      const n = Buffer.byteLength(text, 'utf8');
      if (prefix === 'i32') this.writeI32BE(n);
      else this.writeVarint32(n);
      this.writeText(text, 'utf8', n);
      return;
    }
    const room = prefix === 'i32' ? 4 : varintBytes(3 * units);
    if (this.pos + room + 3 * units > this.scratch.length) this.grow(room + 3 * units);
    const start = this.pos + room;
    const n = this.scratch.write(text, start, 'utf8');
    if (prefix === 'i32') {
      this.writeI32BE(n);
    } else {
      // The length's varint may be shorter than the room made for the worst case.
      const size = varintBytes(n);
      if (size < room) this.scratch.copyWithin(this.pos + size, start, start + n);
      this.writeVarint32(n);
    }
    this.pos += n;
  }

  /**
   * Appends a short, all-ASCII `text` after its length (a big-endian i32 when `prefixBytes` is
   * 4, a one-byte varint when 1) and returns true. Returns false, having written nothing, for
   * a longer or non-ASCII string. Method names and most short strings go this way, a JS loop
   * being several times cheaper than the two native calls of `writeText`.
   */
  writeShortAscii(text: string, prefixBytes: 1 | 4): boolean {
    const n = text.length;
    if (n > SHORT_STRING) return false;
    if (this.pos + prefixBytes + n > this.scratch.length) this.grow(prefixBytes + n);
    const s = this.scratch;
    const start = this.pos + prefixBytes;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) return false;
      s[start + i] = c;
    }
    if (prefixBytes === 4) this.writeI32BE(n);
    else s[this.pos++] = n;
    this.pos = start + n;
    return true;
  }

  /** Bytes written since the last flush (frame header excluded). */
  get pending(): number {
    return this.pos - this.header;
  }

  flush(): void {
    if (this.pos > this.scratch.length) this.grow(0); // an empty framed message: room for its header
    const n = this.pos;
    if (this.framed) this.scratch.writeInt32BE(n - 4, 0);
    let message: Buffer;
    if (this.scratch.length > MAX_KEPT_SCRATCH_BYTES) {
      // A big message keeps the buffer it was written in; the next one starts a new one.
      message = this.scratch.subarray(0, n);
      this.scratch = EMPTY;
    } else {
      // Buffer.alloc of a small size is on the JS heap; allocUnsafe takes others from Node's pool.
      message = n <= ON_HEAP_BYTES ? Buffer.alloc(n) : Buffer.allocUnsafe(n);
      this.scratch.copy(message, 0, 0, n);
    }
    this.pos = this.header;
    this.sink(message);
  }

  /** Drops anything written since the last flush (after a failed encode). */
  reset(): void {
    this.pos = this.header;
  }

  // Called by the protocol classes; meaningless for an in-memory sink.
  setCurrSeqId(): void {}
  isOpen(): boolean {
    return true;
  }
  open(): void {}
  close(): void {}

  // --- internal ---

  /** Moves the message being written to a bigger scratch buffer with room for `n` more bytes. */
  private grow(n: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(SCRATCH_BYTES, 2 * (this.pos + n)));
    // Bytes past the old buffer's end are an unwritten frame header: nothing to copy.
    this.scratch.copy(next, 0, 0, Math.min(this.pos, this.scratch.length));
    this.scratch = next;
  }
}

/** Bytes of the unsigned LEB128 varint of `n` (0 ≤ n < 2^32). */
function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}
