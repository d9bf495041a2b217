/**
 * Writing protocols for a {@link WriteBuffer}: Apache's binary and compact protocol classes with
 * their primitive writes redirected into the buffer. The Apache classes allocate a Buffer for
 * every byte, integer and string they write (`new Buffer([b])`, `new Buffer(4)`); profiles of
 * the host show that as most of the JavaScript spent per reply. The wire format is unchanged:
 * only the methods that allocate are replaced, each with the same truncation rules.
 */
import thrift from 'thrift';
import type { WriteBuffer } from './write-buffer.js';

type WriteMethods = {
  trans: WriteBuffer;
  _seqid: number | null;
  writeVarint32(n: number): void;
  writeI32(v: number): void;
};

/**
 * A protocol object writing into `writer`: the fast subclass for binary and compact, the Apache
 * class itself for any other protocol.
 */
export function createOutputProtocol(Protocol: thrift.ProtocolClass, writer: WriteBuffer): thrift.TProtocol {
  if (Protocol === thrift.TBinaryProtocol) return new BinaryOutput(writer) as unknown as thrift.TProtocol;
  if (Protocol === thrift.TCompactProtocol) return new CompactOutput(writer) as unknown as thrift.TProtocol;
  return new Protocol(writer);
}

// --- internal ---

const apacheBinary = (thrift.TBinaryProtocol as unknown as { prototype: Record<string, Function> }).prototype;
const apacheCompact = (thrift.TCompactProtocol as unknown as { prototype: Record<string, Function> })
  .prototype;

/** TBinaryProtocol whose byte, i16, i32 and string writes go straight into the WriteBuffer. */
class BinaryOutput extends (thrift.TBinaryProtocol as unknown as new (t: WriteBuffer) => WriteMethods) {
  writeByte(b: number): void {
    this.trans.writeByte(b);
  }

  writeI16(v: number): void {
    this.trans.writeI16BE(v);
  }

  override writeI32(v: number): void {
    this.trans.writeI32BE(v);
  }

  writeStringOrBinary(name: string, encoding: BufferEncoding, arg: unknown): void {
    if (typeof arg === 'string') {
      if (this.trans.writeShortAscii(arg, 4)) return; // same bytes in utf8 and binary (latin1)
      const n = Buffer.byteLength(arg, encoding);
      this.trans.writeI32BE(n);
      this.trans.writeText(arg, encoding, n);
    } else if (arg instanceof Uint8Array) {
      this.trans.writeI32BE(arg.length);
      this.trans.write(arg);
    } else {
      apacheBinary.writeStringOrBinary!.call(this, name, encoding, arg); // throws the Apache error
    }
  }
}

/** TCompactProtocol whose byte, varint and string writes go straight into the WriteBuffer. */
class CompactOutput extends (thrift.TCompactProtocol as unknown as new (t: WriteBuffer) => WriteMethods) {
  writeByte(b: number): void {
    this.trans.writeByte(b);
  }

  override writeVarint32(n: number): void {
    this.trans.writeVarint32(n);
  }

  writeStringOrBinary(name: string, encoding: BufferEncoding, arg: unknown): void {
    if (typeof arg === 'string') {
      if (this.trans.writeShortAscii(arg, 1)) return;
      const n = Buffer.byteLength(arg, encoding);
      this.trans.writeVarint32(n);
      this.trans.writeText(arg, encoding, n);
    } else if (arg instanceof Uint8Array) {
      this.trans.writeVarint32(arg.length);
      this.trans.write(arg);
    } else {
      apacheCompact.writeStringOrBinary!.call(this, name, encoding, arg);
    }
  }

  /** Apache's compact protocol never clears the seqid, then warns on every later message. */
  writeMessageEnd(): void {
    this._seqid = null;
  }
}
