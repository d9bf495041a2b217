/**
 * Test helper: Catalog calls encoded as a client puts them on the wire (the host's own writers),
 * and a large one, `index` with many tags, for tests of messages far larger than one socket read.
 */
import thrift from 'thrift';
import { createOutputProtocol } from '../../src/codec/output-protocols.js';
import { type ProtocolName, protocolClass } from '../../src/codec/protocols.js';
import { WriteBuffer } from '../../src/codec/write-buffer.js';

/** The bytes of one Catalog call as `protocol` puts it on the wire, framed or not. */
export function encodeCall(
  protocol: ProtocolName,
  framed: boolean,
  method: string,
  write: (p: thrift.TProtocol) => void,
): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const w = new WriteBuffer(framed, (m) => {
    out = m;
  });
  const p = createOutputProtocol(protocolClass(protocol), w);
  p.writeMessageBegin(method, thrift.Thrift.MessageType.CALL, 7);
  write(p);
  p.writeMessageEnd();
  p.flush();
  return out;
}

/**
 * Catalog.index(tags) with `count` distinct tags of `length` characters: many small elements,
 * the shape in which reading that starts over costs the most.
 */
export function indexCall(protocol: ProtocolName, framed: boolean, count: number, length: number): Buffer {
  return encodeCall(protocol, framed, 'index', (p) => {
    p.writeStructBegin('args');
    p.writeFieldBegin('tags', thrift.Thrift.Type.SET, 1);
    p.writeSetBegin(thrift.Thrift.Type.STRING, count);
    for (let i = 0; i < count; i++) p.writeString(String(i).padStart(length, 't'));
    p.writeSetEnd();
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  });
}
