/**
 * An output transport that gathers what a protocol writes for one message and hands the
 * finished message (with its 4-byte frame header when framed) to a sink on `flush()`.
 *
 * Messages are written straight into a shared slab, one after the other; a flushed message is
 * a view of its bytes in the slab, which is never written over (a full slab is replaced, not
 * reused), so the sink may keep it as long as it likes. Compared with gathering one small
 * Buffer per field and concatenating them, a reply costs no allocation but its view.
 */

/** Receives one complete, ready-to-send message. */
export type MessageSink = (message: Buffer) => void;

/** Slab size: many small messages share one allocation (allocated on first use). */
const SLAB_BYTES = 8 * 1024;
/** Slabs grown past this for a big message are dropped once it is flushed. */
const MAX_KEPT_SLAB_BYTES = 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/** Output transport used by both the host and the client. */
export class WriteBuffer {
  private slab: Buffer = EMPTY;
  /** Where the current message (frame header included) starts in the slab. */
  private start = 0;
  /** Next byte to write. */
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
    if (this.pos + n > this.slab.length) this.grow(n);
    this.slab.set(data, this.pos);
    this.pos += n;
  }

  /** Appends one byte (the value is truncated to 8 bits, as a Uint8Array store does). */
  writeByte(b: number): void {
    if (this.pos + 1 > this.slab.length) this.grow(1);
    this.slab[this.pos++] = b;
  }

  /** Appends a big-endian 16-bit integer (truncated to 16 bits, never range-checked). */
  writeI16BE(v: number): void {
    if (this.pos + 2 > this.slab.length) this.grow(2);
    const s = this.slab;
    const p = this.pos;
    s[p] = v >> 8;
    s[p + 1] = v;
    this.pos = p + 2;
  }

  /** Appends a big-endian 32-bit integer (truncated to 32 bits, never range-checked). */
  writeI32BE(v: number): void {
    if (this.pos + 4 > this.slab.length) this.grow(4);
    const s = this.slab;
    const p = this.pos;
    s[p] = v >> 24;
    s[p + 1] = v >> 16;
    s[p + 2] = v >> 8;
    s[p + 3] = v;
    this.pos = p + 4;
  }

  /** Appends an unsigned LEB128 varint of the low 32 bits of `n` (the compact protocol's). */
  writeVarint32(n: number): void {
    if (this.pos + 5 > this.slab.length) this.grow(5);
    const s = this.slab;
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
    if (this.pos + byteLength > this.slab.length) this.grow(byteLength);
    this.pos += this.slab.write(text, this.pos, byteLength, encoding);
  }

  /** Bytes written since the last flush (frame header excluded). */
  get pending(): number {
    return this.pos - this.start - this.header;
  }

  flush(): void {
    if (this.pos > this.slab.length) this.grow(0); // an empty framed message: room for its header
    const { start, pos } = this;
    if (this.framed) this.slab.writeInt32BE(pos - start - 4, start);
    const message = this.slab.subarray(start, pos);
    if (this.slab.length > MAX_KEPT_SLAB_BYTES) {
      this.slab = EMPTY;
      this.start = 0;
    } else {
      this.start = pos;
    }
    // May point past the slab's end: the next write moves to a new slab.
    this.pos = this.start + this.header;
    this.sink(message);
  }

  /** Drops anything written since the last flush (after a failed encode). */
  reset(): void {
    this.pos = this.start + this.header;
  }

  // Called by the protocol classes; meaningless for an in-memory sink.
  setCurrSeqId(): void {}
  isOpen(): boolean {
    return true;
  }
  open(): void {}
  close(): void {}

  // --- internal ---

  /** Moves the message being written to a new slab with room for `n` more bytes. */
  private grow(n: number): void {
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (used + n)));
    // Bytes past the old slab's end are an unwritten frame header: nothing to copy.
    this.slab.copy(next, 0, this.start, Math.min(this.pos, this.slab.length));
    this.slab = next;
    this.start = 0;
    this.pos = used;
  }
}
