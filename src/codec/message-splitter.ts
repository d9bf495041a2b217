/**
 * Turns a connection's byte stream into whole messages, framed or unframed, in linear time.
 *
 * Chunks are gathered in one growable buffer (a chunk that starts a message is used as is,
 * without copying). Framed: the 4-byte size is checked against `maxMessageBytes` before the
 * body is waited for, and the buffer is sized for the whole frame at once. Unframed: a
 * {@link MessageScanner} finds the end of the message, resuming where it stopped on each chunk.
 * Either way a message is handed out only when complete, so the decoder knows exactly how many
 * bytes remain and never has to start over.
 */
import { type DecodeLimits, violation } from './decode-limits.js';
import { createScanner, type MessageScanner } from './message-scanner.js';
import type { ProtocolName } from './protocols.js';

const EMPTY = Buffer.alloc(0);

/**
 * Work a splitter did, counted per chunk, copy and scan call (never per byte): linear reading
 * means `scanned` and `copied` stay within a small multiple of `received`, however the bytes
 * were cut. Tests and benchmarks assert on it instead of on time.
 */
export interface SplitterWork {
  /** Bytes pushed. */
  received: number;
  /** Bytes the unframed scanner moved past (0 framed). */
  scanned: number;
  /** Bytes copied into the splitter's own buffer (chunks appended, pending bytes moved). */
  copied: number;
}

/** Splits one connection's input into messages. */
export class MessageSplitter {
  /** The work of every splitter of this process since it started (connections come and go). */
  static readonly total: SplitterWork = { received: 0, scanned: 0, copied: 0 };

  /** The work of this splitter. */
  readonly work: SplitterWork = { received: 0, scanned: 0, copied: 0 };

  /** The last message found by {@link next}: `message[messageStart..messageEnd)`. */
  message: Buffer = EMPTY;
  messageStart = 0;
  messageEnd = 0;

  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** True when `buf` is ours to append into (not a chunk that came from the socket). */
  private owned = false;
  private readonly scanner: MessageScanner | undefined;

  constructor(
    private readonly framed: boolean,
    protocol: ProtocolName,
    private readonly limits: DecodeLimits,
  ) {
    this.scanner = framed ? undefined : createScanner(protocol, limits);
  }

  /** Bytes received and not yet handed out as a message. */
  get pending(): number {
    return this.end - this.start;
  }

  /** Appends a chunk read from the socket. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.work.received += chunk.length;
    MessageSplitter.total.received += chunk.length;
    if (this.start === this.end) {
      // The common case, a chunk that starts a message: no copy.
      this.buf = chunk;
      this.owned = false;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (!this.owned || this.end + chunk.length > this.buf.length) {
      this.grow(this.end - this.start + chunk.length);
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
    this.copied(chunk.length);
  }

  /**
   * Finds the next complete message and points {@link message}/`messageStart`/`messageEnd` at it.
   * The bytes stay valid until the next `push`. Returns false when no whole message is buffered.
   * @throws ProtocolViolation for a bad frame size or an unframed message that breaks a limit
   */
  next(): boolean {
    const avail = this.end - this.start;
    if (avail === 0) return false;
    let from: number;
    let to: number;
    if (this.framed) {
      if (avail < 4) return false;
      const size = this.buf.readInt32BE(this.start);
      if (size <= 0) violation(`invalid frame size ${size}`);
      if (size > this.limits.maxMessageBytes) {
        violation(`frame of ${size} bytes exceeds maxMessageBytes ${this.limits.maxMessageBytes}`);
      }
      if (avail < 4 + size) {
        this.reserve(4 + size, true);
        return false;
      }
      from = this.start + 4;
      to = from + size;
    } else {
      const scanner = this.scanner!;
      const scannedBefore = scanner.scanned;
      const stop = scanner.scan(this.buf, this.start, this.end);
      this.work.scanned += scanner.scanned - scannedBefore;
      MessageSplitter.total.scanned += scanner.scanned - scannedBefore;
      if (stop < 0) {
        this.reserve(avail + scanner.wanted);
        return false;
      }
      from = this.start;
      to = stop;
    }
    this.message = this.buf;
    this.messageStart = from;
    this.messageEnd = to;
    this.start = to;
    if (this.start === this.end) this.clear();
    return true;
  }

  /** Removes and returns every byte not yet handed out (a copy), e.g. to move the connection. */
  takeUnread(): Buffer {
    const out = Buffer.from(this.buf.subarray(this.start, this.end));
    this.scanner?.reset();
    this.buf = EMPTY;
    this.owned = false;
    this.start = this.end = 0;
    return out;
  }

  /** The first bytes not yet handed out, for error hints. */
  peek(n: number): Buffer {
    return this.buf.subarray(this.start, Math.min(this.end, this.start + n));
  }

  // --- internal ---

  private clear(): void {
    this.start = this.end = 0;
    // The message views handed out stay valid: only the reference is dropped.
    this.buf = EMPTY;
    this.owned = false;
  }

  /**
   * Makes room for `total` bytes from `start`, when more than the buffer holds; `exact` when
   * `total` is the message's known size (a frame), so no room is wasted.
   */
  private reserve(total: number, exact = false): void {
    if (this.owned && this.start + total <= this.buf.length) return;
    if (total <= this.end - this.start) return;
    this.grow(total, exact);
  }

  /** Moves the pending bytes to the front of a new buffer of at least `needed` bytes. */
  private grow(needed: number, exact = false): void {
    const capacity = exact
      ? needed
      : Math.max(needed, Math.min(2 * needed, this.limits.maxMessageBytes + 4), 4096);
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, this.start, this.end);
    this.copied(this.end - this.start);
    this.end -= this.start;
    this.start = 0;
    this.buf = next;
    this.owned = true;
  }

  private copied(n: number): void {
    this.work.copied += n;
    MessageSplitter.total.copied += n;
  }
}
