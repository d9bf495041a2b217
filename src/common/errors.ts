/**
 * Error base shared by the host and the client: every failure thrifthost raises carries a
 * stable string `code` that callers match on, a readable message, and the original `cause`.
 */

/** Options accepted by every thrifthost error. */
export interface ThriftHostErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error thrifthost throws. Match on `err.code`, never on the message.
 *
 * @example
 * try { await client.sayHello('TOM') } catch (err) {
 *   if (err instanceof ThriftHostError && err.code === 'ERR_CALL_TIMEOUT') retryLater();
 * }
 */
export class ThriftHostError extends Error {
  /** Stable machine-readable code, e.g. `ERR_CONFIG_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options: ThriftHostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown while reading generated code: missing module, unknown service, unexpected shape. */
export class GeneratedCodeError extends ThriftHostError {
  constructor(message: string, options?: ThriftHostErrorOptions) {
    super('ERR_GENERATED_CODE', message, options);
  }
}
