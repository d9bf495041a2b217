/**
 * Errors of `rpc call` and `rpc describe` beyond those of the IDL library and the client: each
 * has a stable code with its own exit code (see `exit-codes.ts`).
 */
import { ThriftHostError, type ThriftHostErrorOptions } from '../common/errors.js';

/** The call's target is neither `host:port` nor a service the config or the registry knows. */
export class CallTargetError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_CALL_TARGET', message, options);
  }
}

/** Options that do not go together (`-H` without the THeader transport, JSON inside THeader). */
export class UsageError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_USAGE', message, options);
  }
}

/** The server answered the call with a TApplicationException (unknown method, internal error, ...). */
export class ApplicationExceptionError extends ThriftHostError {
  constructor(
    message: string,
    readonly type: number,
    options?: ThriftHostErrorOptions,
  ) {
    super('ERR_APPLICATION_EXCEPTION', message, options);
  }
}

/** The method threw an exception its IDL declares; `rpc call` printed it on stdout. */
export class DeclaredExceptionExit extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_DECLARED_EXCEPTION', message, options);
  }
}
