/**
 * What the client knows about a finished call, handed to an optional observer: the single hook
 * for monitoring (`statistics: 'udp://...'` ships these reports to the host).
 */
import thrift from 'thrift';
import { ThriftHostError } from './errors.js';

/** One attempt of a call: where it went and how it ended. */
export interface AttemptReport {
  /** `host:port` the attempt went to. */
  address: string;
  /**
   * Undefined when the attempt returned the call's result; else as {@link CallReport.errorCode},
   * or `CANCELLED` for the attempt that lost a backup-request race.
   */
  errorCode: string | undefined;
  /** From the attempt's start to its end (or to its cancellation). */
  latencyMs: number;
  /** True for a backup request (sent while an earlier attempt was still out). */
  backup: boolean;
}

/** One finished call, as seen by the caller. */
export interface CallReport {
  service: string;
  method: string;
  ok: boolean;
  /**
   * On failure: the thrifthost error code (`ERR_CALL_TIMEOUT`...), the declared exception's
   * name (`NotFound`), or `TApplicationException:<type>`.
   */
  errorCode: string | undefined;
  /** From the call to its outcome, retries included. */
  latencyMs: number;
  /**
   * The address whose answer the call returned (the winner of a backup race), else the one of
   * the last attempt; undefined when none could be picked.
   */
  address: string | undefined;
  /** Attempts made (1 without failover), backup requests included. */
  attempts: number;
  /** Every attempt in the order they started: which address each went to and how it ended. */
  tries: readonly AttemptReport[];
  /** True when a retry or backup request was wanted and the retry budget refused it. */
  budgetExhausted: boolean;
  /** True when a backup request was sent. */
  backupSent: boolean;
  /** True when the backup request's answer was the call's. */
  backupWon: boolean;
}

/** Receives every {@link CallReport}. Must not throw; keep it cheap (it runs on the call path). */
export type CallObserver = (report: CallReport) => void;

/** The code a report gives an error: a thrifthost code, `TApplicationException:<type>`, or the error's name. */
export function reportCode(err: unknown): string {
  if (err instanceof ThriftHostError) return err.code;
  if (err instanceof thrift.Thrift.TApplicationException) return `TApplicationException:${err.type}`;
  return (err as Error)?.name ?? 'Error';
}

/** Code of an attempt that lost a backup-request race. */
export const CANCELLED = 'CANCELLED';
