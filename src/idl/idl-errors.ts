/**
 * Errors of the IDL library. Each names the file, line and column, what was found and what was
 * expected, so the message alone points at the fix:
 * `idl/Shop.thrift:12:5: expected a field type, got "}"`.
 */
import { ThriftHostError, type ThriftHostErrorOptions } from '../common/errors.js';
import type { Position } from './ast.js';

/** What every IDL error carries besides its message. */
export interface IdlErrorLocation {
  readonly file: string;
  readonly loc: Position | undefined;
}

/** Base of the IDL errors: `file:line:column: problem`. */
export abstract class IdlError extends ThriftHostError implements IdlErrorLocation {
  /** The problem without the location prefix. */
  readonly problem: string;

  constructor(
    code: string,
    readonly file: string,
    readonly loc: Position | undefined,
    problem: string,
    options?: ThriftHostErrorOptions,
  ) {
    super(code, `${file}${loc ? `:${loc.line}:${loc.column}` : ''}: ${problem}`, options);
    this.problem = problem;
  }
}

/** The text is not valid Thrift IDL (a token or construct where another was expected). */
export class IdlParseError extends IdlError {
  constructor(file: string, loc: Position | undefined, problem: string, options?: ThriftHostErrorOptions) {
    super('ERR_IDL_PARSE', file, loc, problem, options);
  }
}

/** An IDL file or one it includes cannot be read (missing, unreadable, an include cycle). */
export class IdlIncludeError extends IdlError {
  constructor(file: string, loc: Position | undefined, problem: string, options?: ThriftHostErrorOptions) {
    super('ERR_IDL_INCLUDE', file, loc, problem, options);
  }
}

/** A name does not resolve, or a constant does not fit its type. */
export class IdlResolveError extends IdlError {
  constructor(file: string, loc: Position | undefined, problem: string, options?: ThriftHostErrorOptions) {
    super('ERR_IDL_RESOLVE', file, loc, problem, options);
  }
}
