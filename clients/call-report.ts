/**
 * What the client knows about a finished call, handed to an optional observer: the single hook
 * for monitoring (e.g. a future `statistics: 'udp://...'` option that ships reports to the host).
 */

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
  /** The address of the last attempt (undefined when none could be picked). */
  address: string | undefined;
  /** Attempts made (1 without failover). */
  attempts: number;
}

/** Receives every {@link CallReport}. Must not throw; keep it cheap (it runs on the call path). */
export type CallObserver = (report: CallReport) => void;
