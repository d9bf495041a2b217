/**
 * An input transport over one Buffer, with the read methods the Apache protocol classes call.
 *
 * It replaces TBufferedTransport/TFramedTransport on the receive path so that one protocol
 * object per connection can be pointed at each new message without allocating, and so that
 * running out of bytes is cheap to signal and says how many bytes were needed.
 */
import InputBufferUnderrunError from 'thrift/lib/nodejs/lib/thrift/input_buffer_underrun_error';

/**
 * Thrown (as a shared instance, no stack captured) when a message is incomplete.
 * `ReadBuffer.needed` then holds the total length that would have let the read succeed.
 */
export const UNDERRUN: Error = Object.freeze(
  Object.assign(Object.create(Error.prototype), { message: 'underrun' }),
);

/** True for our underrun signal and for the Apache library's own InputBufferUnderrunError. */
export function isUnderrun(err: unknown): boolean {
  return err === UNDERRUN || err instanceof InputBufferUnderrunError;
}

/** Input transport reading from `buf[readPos..end)`. */
export class ReadBuffer {
  buf: Buffer = Buffer.alloc(0);
  readPos = 0;
  end = 0;
  /** After an underrun: the `end` that would have satisfied the failed read. */
  needed = 0;

  /** Points the transport at `buf[start..end)`. */
  reset(buf: Buffer, start = 0, end = buf.length): void {
    this.buf = buf;
    this.readPos = start;
    this.end = end;
  }

  ensureAvailable(len: number): void {
    if (len < 0 || this.readPos + len > this.end) {
      this.needed = this.readPos + Math.max(len, 0);
      throw UNDERRUN;
    }
  }

  read(len: number): Buffer {
    this.ensureAvailable(len);
    const start = this.readPos;
    this.readPos += len;
    return this.buf.subarray(start, this.readPos);
  }

  readByte(): number {
    this.ensureAvailable(1);
    return this.buf.readInt8(this.readPos++);
  }

  readI16(): number {
    this.ensureAvailable(2);
    const v = this.buf.readInt16BE(this.readPos);
    this.readPos += 2;
    return v;
  }

  readI32(): number {
    this.ensureAvailable(4);
    const v = this.buf.readInt32BE(this.readPos);
    this.readPos += 4;
    return v;
  }

  readDouble(): number {
    this.ensureAvailable(8);
    const v = this.buf.readDoubleBE(this.readPos);
    this.readPos += 8;
    return v;
  }

  readString(len: number): string {
    this.ensureAvailable(len);
    const start = this.readPos;
    this.readPos += len;
    return this.buf.toString('utf8', start, this.readPos);
  }

  /** Used by TJSONProtocol and TCompactProtocol to scan ahead. */
  borrow(): { buf: Buffer; readIndex: number; writeIndex: number } {
    return { buf: this.buf, readIndex: this.readPos, writeIndex: this.end };
  }

  consume(n: number): void {
    this.readPos += n;
  }

  // The protocol classes call these on any transport; nothing to do for an in-memory buffer.
  commitPosition(): void {}
  rollbackPosition(): void {}
  setCurrSeqId(): void {}
  isOpen(): boolean {
    return true;
  }
  open(): void {}
  close(): void {}
}
