/**
 * The operator's message for a service listener that could not bind, the same whether the
 * master (connection-dispatcher.ts) or a worker run on its own tried to bind it.
 */
import type { HostPort } from '../common/address.js';

/** What to tell the operator about `listen` failing with `e`. */
export function listenFailure(e: NodeJS.ErrnoException, listen: HostPort): string {
  return e.code === 'EADDRINUSE'
    ? `port ${listen.port} is already in use (another rpc host or program listens there)`
    : e.code === 'EACCES'
      ? `no permission to listen on ${listen.host}:${listen.port} (ports below 1024 need root)`
      : `cannot listen on ${listen.host}:${listen.port}: ${e.message}`;
}
