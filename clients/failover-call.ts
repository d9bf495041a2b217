/**
 * One call's way across a service's addresses: the first attempt, the retries the outcome
 * allows (`attempt-outcome.ts`), and for idempotent methods with `backupAfter` one backup
 * request raced against the first attempt. Every extra attempt needs the retry budget's consent
 * and time left before the call's deadline; every attempt reports its outcome to the address
 * manager (breaker and load) and, when an observer listens, to the call's report.
 */
import { performance } from 'node:perf_hooks';
import type { MethodInfo } from '../src/codec/generated-service.js';
import type { AddressManager } from './address-manager.js';
import { type AttemptVerdict, classifyError } from './attempt-outcome.js';
import { type AttemptReport, CANCELLED, type CallObserver, reportCode } from './call-report.js';
import { callDeadline } from './call-deadline.js';
import type { ResolvedServiceOptions } from './client-options.js';
import { ServerOverloadedError } from './errors.js';
import type { RetryBudget } from './retry-budget.js';

/** Counters of a service's extra attempts, for inspection. */
export interface FailoverCounters {
  calls: number;
  /** Attempts after a failed one. */
  retries: number;
  /** Extra attempts the retry budget refused (retries and backup requests). */
  budgetExhausted: number;
  backupsSent: number;
  /** Backup requests whose answer was the call's. */
  backupsWon: number;
}

/** What a {@link FailoverCall} needs from its service client. */
export interface FailoverEngine {
  readonly options: ResolvedServiceOptions;
  readonly addresses: AddressManager;
  readonly budget: RetryBudget | undefined;
  /** Caps backup requests at a share of the calls of the methods that may send them. */
  readonly backupBudget: RetryBudget | undefined;
  readonly counters: FailoverCounters;
  /** One attempt on one address (already picked), within `timeoutMs`, cancellable by `signal`. */
  attempt(
    address: string,
    method: MethodInfo,
    payload: Record<string, unknown>,
    headers: ReadonlyMap<string, string> | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown>;
  /** When a backup request of `method` goes out, in ms after the first attempt; undefined = none. */
  backupDelay(method: string): number | undefined;
  /** An attempt of `method` was answered after `ms`. */
  answered(method: string, ms: number): void;
}

/** One call in progress. */
export class FailoverCall {
  private readonly tried = new Set<string>();
  private readonly deadline: number;
  private readonly start: number;
  /** Filled only when an observer listens. */
  private readonly tries: AttemptReport[] | undefined;
  private attempts = 0;
  private lastError: unknown;
  private lastAddress: string | undefined;
  private budgetExhausted = false;
  /** Attempts get an AbortController: a backup race may cancel them. */
  private cancellable = false;
  private backupSent = false;
  private backupWon = false;

  constructor(
    private readonly engine: FailoverEngine,
    private readonly method: MethodInfo,
    private readonly payload: Record<string, unknown>,
    private readonly headers: ReadonlyMap<string, string> | undefined,
    private readonly observer: CallObserver | undefined,
  ) {
    this.deadline = callDeadline(engine.options.callTimeoutMs);
    this.start = observer ? performance.now() : 0;
    this.tries = observer ? [] : undefined;
  }

  /** Runs the call to its outcome, and reports it. */
  async run(): Promise<unknown> {
    this.engine.counters.calls++;
    this.engine.budget?.deposit();
    try {
      const value = await this.runAttempts();
      this.report(undefined);
      return value;
    } catch (err) {
      this.report(err);
      throw err;
    }
  }

  // --- internal ---

  /** The attempts of the call, one after another, or raced with a backup request. */
  private async runAttempts(): Promise<unknown> {
    const backupMs = this.engine.backupDelay(this.method.name);
    if (this.engine.backupBudget && this.engine.options.idempotent.has(this.method.name)) this.engine.backupBudget.deposit();
    if (backupMs !== undefined) {
      this.cancellable = true;
      return this.race(backupMs);
    }
    for (;;) {
      const attempt = this.launch(this.next(), false);
      const settled = await attempt.done;
      if (settled.ok) return settled.value;
      this.failed(settled);
    }
  }

  /**
   * The first attempt raced against one backup request sent after `backupMs`: the first answer
   * wins and the other attempt is cancelled. A failure while the other attempt is out waits
   * for it; with none out, the call retries as usual.
   */
  private async race(backupMs: number): Promise<unknown> {
    const running = new Set<Attempt>();
    let timer: NodeJS.Timeout | undefined;
    let backupDue: Promise<typeof BACKUP_DUE> | undefined = new Promise((resolve) => {
      timer = setTimeout(resolve, backupMs, BACKUP_DUE);
    });
    try {
      running.add(this.launch(this.next(), false));
      for (;;) {
        const waits: Promise<Settled | typeof BACKUP_DUE>[] = [...running].map((a) => a.done);
        if (backupDue) waits.push(backupDue);
        const first = await Promise.race(waits);
        if (first === BACKUP_DUE) {
          backupDue = undefined;
          const address = running.size === 1 ? this.backupAddress() : undefined;
          if (address !== undefined) {
            running.add(this.launch(address, true));
            this.backupSent = true;
            this.engine.counters.backupsSent++;
          }
          continue;
        }
        running.delete(first.attempt);
        if (first.ok) {
          this.cancel(running);
          if (first.attempt.backup) {
            this.backupWon = true;
            this.engine.counters.backupsWon++;
          }
          return first.value;
        }
        try {
          this.failed(first);
        } catch (err) {
          // An answer (a declared exception...): final, whatever the other attempt would say.
          this.cancel(running);
          throw err;
        }
        // Otherwise the other attempt, if still out, may yet answer.
        if (running.size === 0) {
          // Nothing out any more: a retry, and no backup for it.
          backupDue = undefined;
          running.add(this.launch(this.next(), false));
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The address of the next attempt: the first one, or a retry when time, `retries` and the
   * retry budget allow; throws the call's final error otherwise.
   */
  private next(): string {
    const { engine } = this;
    const retry = this.attempts > 0;
    if (retry) {
      // A retry never outlives the call's deadline: what failed last is the answer.
      if (this.attempts > engine.options.retries || this.deadline - Date.now() <= 0) throw this.lastError;
      if (engine.budget && !engine.budget.canWithdraw()) {
        engine.budget.tryWithdraw(); // counts the refusal
        this.refused();
        throw this.lastError;
      }
    }
    let address: string;
    try {
      address = engine.addresses.pick(this.tried, this.lastError).address;
    } catch (err) {
      // Every address shed the call: say so, rather than that none is available.
      if (this.lastError instanceof ServerOverloadedError) throw this.lastError;
      throw err;
    }
    if (retry) {
      engine.budget?.tryWithdraw();
      engine.counters.retries++;
    }
    return address;
  }

  /** A healthy address for a backup request, when `retries`, the deadline and the budget allow one. */
  private backupAddress(): string | undefined {
    const { engine } = this;
    if (this.attempts > engine.options.retries || this.deadline - Date.now() <= 0) return undefined;
    if (engine.backupBudget && !engine.backupBudget.canWithdraw()) return undefined;
    if (engine.budget && !engine.budget.canWithdraw()) {
      engine.budget.tryWithdraw(); // counts the refusal
      this.refused();
      return undefined;
    }
    let pick;
    try {
      pick = engine.addresses.pick(this.tried);
    } catch {
      return undefined;
    }
    // Every other address is evicted: a backup there would only be a probe in disguise.
    if (pick.reason === 'last-resort') return undefined;
    engine.budget?.tryWithdraw();
    engine.backupBudget?.tryWithdraw();
    return pick.address;
  }

  /** The retry budget refused an extra attempt. */
  private refused(): void {
    this.budgetExhausted = true;
    this.engine.counters.budgetExhausted++;
  }

  /** Takes a failed attempt's error: throws it when no other address may take the call. */
  private failed(settled: Failed): void {
    this.lastError = settled.error;
    const { retry } = settled.verdict;
    if (retry === 'never' || (retry === 'idempotent' && !this.engine.options.idempotent.has(this.method.name))) {
      throw settled.error;
    }
  }

  /** Starts one attempt on `address`. Its `done` never rejects. */
  private launch(address: string, backup: boolean): Attempt {
    const { engine } = this;
    this.tried.add(address);
    this.attempts++;
    this.lastAddress = address;
    const attempt: Attempt = {
      address,
      backup,
      startedAt: performance.now(),
      controller: this.cancellable ? new AbortController() : undefined,
      report: undefined,
      done: undefined as unknown as Promise<Settled>,
    };
    if (this.tries) {
      attempt.report = { address, errorCode: undefined, latencyMs: 0, backup };
      this.tries.push(attempt.report);
    }
    const since = engine.addresses.attemptStarted(address);
    const timeoutMs = Math.max(1, this.deadline - Date.now());
    attempt.done = engine
      .attempt(address, this.method, this.payload, this.headers, timeoutMs, attempt.controller?.signal)
      .then(
        (value): Settled => {
          const ms = performance.now() - attempt.startedAt;
          engine.addresses.attemptEnded(address, 'success', ms, since);
          engine.answered(this.method.name, ms);
          if (attempt.report && !attempt.controller?.signal.aborted) attempt.report.latencyMs = ms;
          return { ok: true, value, attempt };
        },
        (error: unknown): Settled => {
          const ms = performance.now() - attempt.startedAt;
          if (attempt.controller?.signal.aborted) {
            engine.addresses.attemptEnded(address, 'cancelled', ms);
            return { ok: false, error, verdict: CANCELLED_VERDICT, attempt };
          }
          const verdict = classifyError(error);
          engine.addresses.attemptEnded(address, verdict.health, ms, since);
          if (verdict.health === 'success') engine.answered(this.method.name, ms);
          if (attempt.report) {
            attempt.report.errorCode = reportCode(error);
            attempt.report.latencyMs = ms;
          }
          return { ok: false, error, verdict, attempt };
        },
      );
    return attempt;
  }

  /** Cancels attempts still out (their backup answered first). */
  private cancel(running: Set<Attempt>): void {
    for (const a of running) {
      if (a.report) {
        a.report.errorCode = CANCELLED;
        a.report.latencyMs = performance.now() - a.startedAt;
      }
      a.controller?.abort(new AttemptCancelled(a.address));
    }
  }

  private report(error: unknown): void {
    const { observer } = this;
    if (!observer) return;
    try {
      observer({
        service: this.engine.options.service,
        method: this.method.name,
        ok: error === undefined,
        errorCode: error === undefined ? undefined : reportCode(error),
        latencyMs: performance.now() - this.start,
        address: this.winner(error),
        attempts: this.attempts,
        tries: this.tries ?? [],
        budgetExhausted: this.budgetExhausted,
        backupSent: this.backupSent,
        backupWon: this.backupWon,
      });
    } catch {
      // An observer must not turn a call's outcome into another one.
    }
  }

  /** The address whose answer the call returned, else the last one tried. */
  private winner(error: unknown): string | undefined {
    if (error === undefined && this.tries) {
      for (let i = this.tries.length - 1; i >= 0; i--) {
        const t = this.tries[i]!;
        if (t.errorCode === undefined) return t.address;
      }
    }
    return this.lastAddress;
  }
}

// --- internal ---

interface Attempt {
  address: string;
  backup: boolean;
  startedAt: number;
  /** Only when the service sends backup requests: the way to cancel the loser. */
  controller: AbortController | undefined;
  report: AttemptReport | undefined;
  done: Promise<Settled>;
}

interface Answered {
  ok: true;
  value: unknown;
  attempt: Attempt;
}

interface Failed {
  ok: false;
  error: unknown;
  verdict: AttemptVerdict;
  attempt: Attempt;
}

type Settled = Answered | Failed;

const BACKUP_DUE = Symbol('backup due');
const CANCELLED_VERDICT: AttemptVerdict = { health: 'cancelled', retry: 'never' };

/** Why a losing attempt was abandoned (never seen by callers: the call already has its answer). */
class AttemptCancelled extends Error {
  constructor(address: string) {
    super(`attempt on ${address} cancelled: another attempt answered first`);
    this.name = 'AttemptCancelled';
  }
}
