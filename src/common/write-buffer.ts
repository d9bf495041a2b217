/**
 * An output transport that gathers what a protocol writes for one message and hands the
 * finished message (with its 4-byte frame header when framed) to a sink on `flush()`.
 */

/** Receives one complete, ready-to-send message. */
export type MessageSink = (message: Buffer) => void;

/** Output transport used by both the host and the client. */
export class WriteBuffer {
  private chunks: Buffer[] = [];
  private length = 0;

  /**
   * @param framed prepend the 4-byte big-endian frame length on flush
   * @param sink receives each flushed message; replace it freely between messages
   */
  constructor(
    readonly framed: boolean,
    public sink: MessageSink,
  ) {}

  write(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.chunks.push(buf);
    this.length += buf.length;
  }

  /** Bytes written since the last flush (frame header excluded). */
  get pending(): number {
    return this.length;
  }

  flush(): void {
    const header = this.framed ? 4 : 0;
    const out = Buffer.allocUnsafe(header + this.length);
    if (this.framed) out.writeInt32BE(this.length, 0);
    let pos = header;
    for (const chunk of this.chunks) {
      chunk.copy(out, pos);
      pos += chunk.length;
    }
    this.chunks = [];
    this.length = 0;
    this.sink(out);
  }

  /** Drops anything written since the last flush (after a failed encode). */
  reset(): void {
    this.chunks = [];
    this.length = 0;
  }

  // Called by the protocol classes; meaningless for an in-memory sink.
  setCurrSeqId(): void {}
  isOpen(): boolean {
    return true;
  }
  open(): void {}
  close(): void {}
}
