/**
 * THeader keys that mean something to both sides: the host reads and answers them, ThriftClient
 * sends and reads them. fbthrift's names, so that its clients and servers understand them too.
 */

/** The caller's remaining time in milliseconds (decimal): the host does not start a call past it. */
export const DEADLINE_HEADER = 'client_timeout';

/**
 * A host's load: sent (with any value) to ask for it; the reply then carries the calls running
 * and waiting in the worker that answered, as a decimal.
 */
export const LOAD_HEADER = 'load';
