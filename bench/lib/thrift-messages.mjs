/**
 * Thrift messages encoded by the real Apache `thrift` library, for the benches and the fuzzer:
 * one whole message (frame header included when framed) as a Buffer, for any of the six
 * protocol × transport combinations.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const thrift = require('thrift');

/** Message types of the Thrift envelope. */
export const CALL = 1;
export const REPLY = 2;
export const ONEWAY = 4;

const PROTOCOL_CLASSES = {
  binary: thrift.TBinaryProtocol,
  compact: thrift.TCompactProtocol,
  json: thrift.TJSONProtocol,
};

/**
 * `struct` (a generated args or result object) wrapped in a message envelope.
 * @returns {Buffer}
 */
export function encodeMessage({ protocol, transport, name, type = CALL, seqid = 0, struct }) {
  const chunks = [];
  const Transport = transport === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport;
  const t = new Transport(undefined, (buf) => chunks.push(Buffer.from(buf)));
  const Protocol = PROTOCOL_CLASSES[protocol];
  if (!Protocol) throw new Error(`unknown protocol ${protocol}`);
  const p = new Protocol(t);
  p.writeMessageBegin(name, type, seqid);
  struct.write(p);
  p.writeMessageEnd();
  t.flush();
  return Buffer.concat(chunks);
}
