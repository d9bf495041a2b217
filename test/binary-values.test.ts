/**
 * What a decoded binary value holds on to: a small one is a copy (it must not pin a 64 KiB
 * socket chunk or a big frame), a big one that is most of the frame is a view of it (a copy
 * would double the memory and the garbage of a 1 MiB upload).
 */
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { createOutputProtocol } from '../src/codec/output-protocols.js';
import { createInputProtocol, protocolClass } from '../src/codec/protocols.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';

/** A framed message whose body is one binary field of `bytes`, and the frame's own Buffer. */
function frameWith(protocol: 'binary' | 'compact', bytes: Buffer): Buffer {
  let frame = Buffer.alloc(0);
  const out = createOutputProtocol(protocolClass(protocol), new WriteBuffer(true, (m) => (frame = Buffer.from(m))));
  out.writeMessageBegin('echo', thrift.Thrift.MessageType.CALL, 1);
  out.writeStructBegin('args');
  out.writeFieldBegin('data', thrift.Thrift.Type.STRING, 1);
  out.writeBinary(bytes);
  out.writeFieldEnd();
  out.writeFieldStop();
  out.writeStructEnd();
  out.writeMessageEnd();
  out.flush();
  return frame;
}

function readBinaryField(protocol: 'binary' | 'compact', frame: Buffer): Buffer {
  const input = createInputProtocol(protocol, DEFAULT_DECODE_LIMITS, 'int64');
  input.reset(frame, 4, frame.length);
  input.readMessageBegin();
  input.readStructBegin();
  input.readFieldBegin();
  return input.readBinary();
}

describe.each(['binary', 'compact'] as const)('%s binary values', (protocol) => {
  it('copies a small binary out of the frame', () => {
    const frame = frameWith(protocol, Buffer.alloc(1000, 7));
    const value = readBinaryField(protocol, frame);
    frame.fill(0);
    expect(value.equals(Buffer.alloc(1000, 7))).toBe(true);
  });

  it('hands out a big binary that fills the frame as a view of it', () => {
    const frame = frameWith(protocol, Buffer.alloc(200_000, 9));
    const value = readBinaryField(protocol, frame);
    expect(value.equals(Buffer.alloc(200_000, 9))).toBe(true);
    expect(value.buffer).toBe(frame.buffer);
  });

  it('copies a big binary that is a small part of a bigger receive buffer', () => {
    const frame = frameWith(protocol, Buffer.alloc(100_000, 3));
    // Several messages arrived in one big buffer: a view would pin all of it.
    const big = Buffer.alloc(frame.length * 4);
    frame.copy(big);
    const value = readBinaryField(protocol, big.subarray(0, frame.length));
    big.fill(0);
    expect(value.equals(Buffer.alloc(100_000, 3))).toBe(true);
  });
});
