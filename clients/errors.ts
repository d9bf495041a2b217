/**
 * Errors raised by the client library. Every class carries a stable `code` (match on it, never
 * on the message), a message naming the service, method and address involved, and the
 * underlying `cause` when there is one.
 */
import { ThriftHostError, type ThriftHostErrorOptions } from '../src/common/errors.js';

export { ThriftHostError } from '../src/common/errors.js';

/** Where a failed call was headed: filled in on every transport error. */
export interface CallTarget {
  service: string;
  method: string;
  address: string;
}

/** `ThriftClient.config(...)` or a service entry is invalid: names the field and the constraint. */
export class ClientConfigError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_CLIENT_CONFIG', message, options);
  }
}

/** `ThriftClient.instance(name)` for a service that was never configured. */
export class UnknownServiceError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_UNKNOWN_SERVICE', message, options);
  }
}

/** A method the generated code of the service does not declare. */
export class UnknownMethodError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_UNKNOWN_METHOD', message, options);
  }
}

/** Every address was evicted or failed for this call. Lists all addresses and the evicted ones. */
export class NoAvailableAddressError extends ThriftHostError {
  constructor(
    message: string,
    readonly addresses: readonly string[],
    readonly evicted: readonly string[],
    options?: ThriftHostErrorOptions,
  ) {
    super('ERR_NO_AVAILABLE_ADDRESS', message, options);
  }
}

/** Base of the transport failures below: knows the call's target and whether bytes left. */
export abstract class CallTransportError extends ThriftHostError {
  /** False when the request was certainly never written, so another address may take it. */
  abstract readonly requestSent: boolean;

  constructor(
    code: string,
    message: string,
    readonly target: CallTarget,
    options?: ThriftHostErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** TCP connect was refused, reset or timed out. The request was never written. */
export class ConnectFailedError extends CallTransportError {
  override readonly requestSent = false;
  constructor(message: string, target: CallTarget, options?: ThriftHostErrorOptions) {
    super('ERR_CONNECT_FAILED', message, target, options);
  }
}

/** No reply within the call timeout. The server may still have run the call. */
export class CallTimeoutError extends CallTransportError {
  override readonly requestSent = true;
  constructor(message: string, target: CallTarget, options?: ThriftHostErrorOptions) {
    super('ERR_CALL_TIMEOUT', message, target, options);
  }
}

/** The connection closed or failed while the call was pending (or before it was written). */
export class ConnectionClosedError extends CallTransportError {
  constructor(
    message: string,
    target: CallTarget,
    readonly requestSent: boolean,
    options?: ThriftHostErrorOptions,
  ) {
    super('ERR_CONNECTION_CLOSED', message, target, options);
  }
}

/**
 * The server answered "overloaded, not run" (TApplicationException type 11, LOADSHEDDING): the
 * call was never started, so it is retried on another address even for a method that is not
 * idempotent, while the call's deadline leaves time; this is what remains when none could take it.
 */
export class ServerOverloadedError extends CallTransportError {
  /** Not run: as safe to send elsewhere as a call that was never written. */
  override readonly requestSent = false;
  constructor(message: string, target: CallTarget, options?: ThriftHostErrorOptions) {
    super('ERR_SERVER_OVERLOADED', message, target, options);
  }
}

/** The reply could not be decoded (wrong protocol/transport setting, or a broken peer). */
export class ReplyDecodeError extends CallTransportError {
  override readonly requestSent = true;
  constructor(message: string, target: CallTarget, options?: ThriftHostErrorOptions) {
    super('ERR_REPLY_DECODE', message, target, options);
  }
}

/** `asend_X(args)` while an earlier `asend_X(args)` with equal arguments is not collected yet. */
export class AsendDuplicateError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_ASEND_DUPLICATE', message, options);
  }
}

/** `arecv_X(args)` with no matching `asend_X(args)` (never sent, already collected, or expired). */
export class ArecvWithoutAsendError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_ARECV_WITHOUT_ASEND', message, options);
  }
}

/** A call made after `ThriftClient.close()` / `destroy()`. */
export class ClientClosedError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_CLIENT_CLOSED', message, options);
  }
}

/** Every pooled connection to the address stayed busy for the whole acquire timeout. Never written. */
export class PoolAcquireTimeoutError extends CallTransportError {
  override readonly requestSent = false;
  constructor(message: string, target: CallTarget, options?: ThriftHostErrorOptions) {
    super('ERR_POOL_ACQUIRE_TIMEOUT', message, target, options);
  }
}

/**
 * A service configured with `registry` and without static addresses could not learn any
 * address: etcd has not been read successfully yet (down, wrong endpoints, refused credentials).
 */
export class RegistryUnavailableError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_REGISTRY_UNAVAILABLE', message, options);
  }
}
