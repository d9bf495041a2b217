/**
 * The limits every decoded message is held to, on the host (calls) and in the client (replies),
 * and the error a peer's message raises when it breaks one or is malformed.
 *
 * Apache Thrift answered the "tiny message, huge declared size" class of attack
 * (CVE-2019-0205, CVE-2020-13949) with `TConfiguration`: a maximum message size, a recursion
 * limit, and every declared size checked against the bytes that remain. These are the same
 * settings, plus explicit string and container limits, with defaults in one place.
 */
import { ThriftHostError } from '../common/errors.js';

/** What one message may hold. Every field is a documented setting with a default. */
export interface DecodeLimits {
  /**
   * Largest message in bytes, framed or unframed; a larger declared frame, or an unframed message
   * that grows past it, closes the connection before anything more is buffered.
   * @default 16 MiB
   */
  maxMessageBytes: number;
  /** Largest string or binary value (and method name) in bytes. @default 16 MiB */
  maxStringBytes: number;
  /** Most elements in one list, set or map. @default 1,048,576 */
  maxContainerElements: number;
  /** Deepest nesting of structs and containers (Apache's RecursionLimit). @default 64 */
  maxDepth: number;
}

/** How i64 values reach a handler (host) or a caller (client). */
export type I64Mode = 'int64' | 'bigint';

/** Defaults of {@link DecodeLimits}, as Apache's TConfiguration sizes them where it has one. */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024 * 1024,
  maxStringBytes: 16 * 1024 * 1024,
  maxContainerElements: 1024 * 1024,
  maxDepth: 64,
});

/** Hard ceilings the settings themselves are validated against. */
export const DECODE_LIMIT_RANGES: Readonly<Record<keyof DecodeLimits, readonly [number, number]>> = {
  maxMessageBytes: [64, 2 ** 31 - 1],
  maxStringBytes: [1, 2 ** 31 - 1],
  maxContainerElements: [1, 2 ** 31 - 1],
  maxDepth: [1, 1000],
};

/**
 * A peer's message is malformed or breaks a {@link DecodeLimits} setting. The host answers it
 * with a PROTOCOL_ERROR where it can and closes the connection; the client fails the calls
 * pending on that connection.
 */
export class ProtocolViolation extends ThriftHostError {
  constructor(message: string) {
    super('ERR_PROTOCOL_VIOLATION', message);
  }
}

/** Throws a {@link ProtocolViolation}; typed `never` so callers read as control flow. */
export function violation(message: string): never {
  throw new ProtocolViolation(message);
}
