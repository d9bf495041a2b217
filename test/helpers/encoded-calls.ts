/**
 * Test helper: calls encoded as a client puts them on the wire (the host's own writers): Catalog
 * calls, a large one (`index` with many tags) for tests of messages far larger than one socket
 * read, and HelloWorld.sayHello, plain or in a THeader frame.
 */
import thrift from 'thrift';
import { createOutputProtocol } from '../../src/codec/output-protocols.js';
import { type ProtocolName, protocolClass } from '../../src/codec/protocols.js';
import { loadGeneratedService } from '../../src/codec/generated-service.js';
import { buildTHeaderPrefix } from '../../src/codec/theader.js';
import { WriteBuffer } from '../../src/codec/write-buffer.js';
import { GEN_DIR } from './servers.js';

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

const HELLO = loadGeneratedService(GEN_DIR, 'HelloWorld');

/**
 * HelloWorld.sayHello(name) as binary, unframed bytes; with `headers`, inside a THeader frame
 * carrying them (an empty map: a THeader frame with no headers).
 */
export function sayHelloCall(name: string, seqid: number, headers?: ReadonlyMap<string, string>): Buffer {
  let out: Buffer | undefined;
  const wb = new WriteBuffer(false, (m) => {
    out = Buffer.from(m);
  });
  const proto = new thrift.TBinaryProtocol(wb as never);
  proto.writeMessageBegin('sayHello', thrift.Thrift.MessageType.CALL, seqid);
  new (HELLO.methods.get('sayHello')!.Args as new (a: object) => { write(p: unknown): void })({ name }).write(proto);
  proto.writeMessageEnd();
  proto.flush();
  if (!headers) return out!;
  return Buffer.concat([buildTHeaderPrefix('binary', seqid, headers, out!.length), out!]);
}
