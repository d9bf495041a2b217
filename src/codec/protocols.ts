/**
 * Protocol and transport names: what users write in config (`binary`, `TFramedTransport`, ...)
 * mapped to one canonical name and to the Apache `thrift` protocol class.
 */
import thrift from 'thrift';
import { BinaryInput } from './binary-input.js';
import { CompactInput } from './compact-input.js';
import type { DecodeLimits, I64Mode } from './decode-limits.js';
import type { InputProtocol } from './input-protocol.js';
import { JsonInput } from './json-input.js';

/** Canonical protocol names. */
export type ProtocolName = 'binary' | 'compact' | 'json';
/** Canonical transport names. `header` is Apache's THeader transport (binary or compact inside). */
export type TransportName = 'buffered' | 'framed' | 'header';

export const PROTOCOLS: readonly ProtocolName[] = ['binary', 'compact', 'json'];
/** The classic transports every Apache library speaks (THeader is accepted besides them). */
export type ClassicTransport = 'buffered' | 'framed';
export const TRANSPORTS: readonly ClassicTransport[] = ['buffered', 'framed'];

const PROTOCOL_ALIASES: Record<string, ProtocolName> = {
  binary: 'binary',
  tbinaryprotocol: 'binary',
  compact: 'compact',
  tcompactprotocol: 'compact',
  json: 'json',
  tjsonprotocol: 'json',
};

const TRANSPORT_ALIASES: Record<string, TransportName> = {
  buffered: 'buffered',
  tbufferedtransport: 'buffered',
  framed: 'framed',
  tframedtransport: 'framed',
  header: 'header',
  theader: 'header',
  theadertransport: 'header',
};

/** `'TBinaryProtocol'`, `'binary'`, `'Binary'` -> `'binary'`; undefined when unknown. */
export function parseProtocolName(value: string): ProtocolName | undefined {
  return PROTOCOL_ALIASES[value.toLowerCase()];
}

/** `'TFramedTransport'`, `'framed'` -> `'framed'`; undefined when unknown. */
export function parseTransportName(value: string): TransportName | undefined {
  return TRANSPORT_ALIASES[value.toLowerCase()];
}

/** The Apache protocol class for a canonical protocol name. */
export function protocolClass(name: ProtocolName): thrift.ProtocolClass {
  switch (name) {
    case 'binary':
      return thrift.TBinaryProtocol;
    case 'compact':
      return thrift.TCompactProtocol;
    case 'json':
      return thrift.TJSONProtocol;
  }
}

/** The Apache transport class for a canonical transport name (used by raw `thrift` clients). */
export function transportClass(name: TransportName): thrift.TransportClass {
  if (name === 'header') throw new TypeError('the Apache Node library has no standalone THeader client transport');
  return name === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport;
}

/** thrifthost's bounded reader for a protocol (see `input-protocol.ts`). */
export function createInputProtocol(name: ProtocolName, limits: DecodeLimits, i64: I64Mode = 'int64'): InputProtocol {
  switch (name) {
    case 'binary':
      return new BinaryInput(limits, i64);
    case 'compact':
      return new CompactInput(limits, i64);
    case 'json':
      return new JsonInput(limits, i64);
  }
}
