/**
 * Exit codes of `rpc`, one per error code: scripts can tell "not running" from "bad config".
 */
import { ThriftHostError } from '../common/errors.js';

/** Exit code per error code; anything else exits 1. */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  ERR_START_FAILED: 1,
  ERR_CONFIG_INVALID: 2,
  ERR_NOT_RUNNING: 3,
  ERR_ALREADY_RUNNING: 4,
  ERR_PERMISSION: 5,
  ERR_RELOAD_FAILED: 6,
  ERR_CONTROL: 7,
  ERR_GEN_FAILED: 9,
  ERR_STOPPING: 10,
  // The statistics/admin listener (host-errors.ts StatsServerError): missing credentials are a
  // config problem; an address that cannot be bound fails the start like a worker's port.
  ERR_STATS_AUTH_REQUIRED: 2,
  ERR_ADMIN_TOKEN_REQUIRED: 2,
  ERR_STATS_LISTEN: 1,
  // rpc call / rpc describe (docs/rpc-call.md): what failed, so that a script can tell.
  ERR_DECLARED_EXCEPTION: 10,
  ERR_APPLICATION_EXCEPTION: 11,
  ERR_SERVER_OVERLOADED: 11,
  ERR_IDL_PARSE: 12,
  ERR_IDL_INCLUDE: 12,
  ERR_IDL_RESOLVE: 12,
  ERR_UNKNOWN_SERVICE: 12,
  ERR_UNKNOWN_METHOD: 12,
  ERR_INVALID_ARGUMENT: 13,
  ERR_CALL_TARGET: 13,
  ERR_CLIENT_CONFIG: 13,
  ERR_CONNECT_FAILED: 14,
  ERR_NO_AVAILABLE_ADDRESS: 14,
  ERR_REGISTRY_UNAVAILABLE: 14,
  ERR_POOL_ACQUIRE_TIMEOUT: 14,
  ERR_CALL_TIMEOUT: 15,
  ERR_REPLY_DECODE: 16,
  ERR_CONNECTION_CLOSED: 16,
  ERR_USAGE: 64,
};

/** Exit code of a command line `rpc` could not parse. */
export const EXIT_USAGE = 64;

/** The exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ThriftHostError) return EXIT_CODES[err.code] ?? 1;
  return 1;
}

/** The line `rpc` prints on stderr for an error: known errors without a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof ThriftHostError) return `rpc: ${err.message} [${err.code}]`;
  if (err instanceof Error) return `rpc: unexpected error: ${err.stack ?? err.message}`;
  return `rpc: unexpected error: ${String(err)}`;
}
