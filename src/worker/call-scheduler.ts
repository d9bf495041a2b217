/**
 * Admission control of one worker: every decoded call passes through here before its handler
 * runs. Below capacity a call runs at once, in the tick that decoded it. When the worker falls
 * behind, calls wait in one FIFO queue that is drained in slices between I/O turns, so the
 * backlog sits here, where its age is known, rather than in the kernel's socket buffers. A call
 * is then not run when:
 * - its caller is gone (the connection closed while it waited): dropped, nobody is told;
 * - its deadline (sent by the caller, THeader `client_timeout`) has passed: answered EXPIRED;
 * - it waited longer than `maxQueueMs` while calls of other connections waited too, the queue
 *   is full, or the event loop is more than `maxEventLoopDelayMs` behind: answered
 *   "overloaded, not run" (SHED), which a client may retry elsewhere even for a method that is
 *   not idempotent. A call that found the queue empty is not shed for its wait (it waited for
 *   one piece of work, a large message being decoded, not behind a backlog), nor are calls
 *   that wait only behind their own connection's earlier calls (a client pipelining large and
 *   small calls: its in-flight limit and TCP hold it back).
 * Answering early what cannot be answered in time keeps the calls that are run within their
 * callers' timeouts, and ends the overload when the burst ends instead of working through a
 * backlog of calls nobody waits for.
 */
import type { Logger } from '../host/logger.js';


/** Why a call was not run; also the failure kind counted in the method's statistics. */
export type ShedReason = 'SHED' | 'EXPIRED' | 'ABANDONED';

/** Admission settings of a service (rpc.config.json). */
export interface AdmissionOptions {
  /** Longest wait before a call starts; 0 = no limit. */
  maxQueueMs: number;
  /** Most calls running at once in this worker. */
  maxConcurrentCalls: number;
  /** Shed while the event loop is this far behind; 0 = off. */
  maxEventLoopDelayMs: number;
}

/** What the scheduler calls back. */
export interface CallRunner<C extends ScheduledCall = ScheduledCall> {
  /** True once the call's connection is closed. */
  readonly gone: boolean;
  /** Runs the call; it reports back with {@link CallScheduler.done} when it has finished. */
  run(call: C, queuedMs: number): void;
  /** Answers (or drops) a call that will not run. */
  refuse(call: C, reason: ShedReason): void;
}

/** A call waiting for admission. */
export interface ScheduledCall {
  readonly pipeline: CallRunner;
  /** `performance.now()` when it was queued (set by {@link CallScheduler.submit}; 0 if it ran at once). */
  arrivedAt: number;
  /** `performance.now()` by which the caller stops waiting; undefined when it sent none. */
  readonly deadline: number | undefined;
  /**
   * Queued when nothing else waited: the worker was busy (a large message being decoded, a
   * handler holding the loop), not overloaded, and the call is not shed for its wait.
   */
  first?: boolean;
}

/** Figures of the scheduler, for the worker's status. */
export interface AdmissionFigures {
  queued: number;
  running: number;
  shed: number;
  expired: number;
  abandoned: number;
  /** The event loop's delay last measured, ms. */
  loopDelayMs: number;
}

/**
 * The most calls that may wait at once, whatever their age: a flood of cheap calls sheds here
 * before their decoded arguments fill the heap (each connection also pauses at 1,024 calls).
 */
export const MAX_QUEUED_CALLS = 10_000;
/** Queued calls run in slices of at most this long, then the loop reads sockets again. */
const SLICE_MS = 5;
/** A call runs in the tick that decoded it only while the event loop is less than this behind. */
const INLINE_LAG_MS = 10;
/** How often the event loop's delay is sampled. */
const LAG_SAMPLE_MS = 20;
/** At most one warning per this interval while calls are shed. */
const WARN_INTERVAL_MS = 10_000;

/** The admission queue of one worker; shared by all its connections. */
export class CallScheduler {
  private readonly queue: ScheduledCall[] = [];
  /** Waiting calls per connection: age sheds only when more than one connection waits. */
  private readonly waitingBy = new Map<CallRunner, number>();
  private head = 0;
  private running = 0;
  private draining = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly counts = { shed: 0, expired: 0, abandoned: 0 };
  /** Refused since the last warning, by reason. */
  private unreported = 0;
  private lastWarnAt = 0;
  private lagMs = 0;
  private lastSample = 0;
  private lagTimer: NodeJS.Timeout | undefined;
  private lagExpectedAt = 0;

  /**
   * @param loopDelay for tests of the policy: the event loop's delay in ms, instead of the
   *   sampled one
   */
  constructor(
    private readonly options: AdmissionOptions,
    private readonly log: Logger,
    private readonly loopDelay?: () => number,
  ) {}

  /** Starts sampling the event loop's delay (an unref'd timer); {@link close} stops it. */
  start(): void {
    if (this.lagTimer) return;
    this.lagExpectedAt = performance.now() + LAG_SAMPLE_MS;
    this.lagTimer = setInterval(this.sampleLag, LAG_SAMPLE_MS);
    this.lagTimer.unref();
  }

  close(): void {
    clearInterval(this.lagTimer);
    this.lagTimer = undefined;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  /** Admits a decoded call: runs it now, queues it, or refuses it. */
  submit(call: ScheduledCall): void {
    const { maxEventLoopDelayMs, maxConcurrentCalls } = this.options;
    const lag = this.loopDelay ? this.loopDelay() : this.lagMs;
    if (maxEventLoopDelayMs > 0 && lag >= maxEventLoopDelayMs) {
      this.refuse(call, 'SHED');
      return;
    }
    if (this.queue.length === this.head && this.running < maxConcurrentCalls && lag < INLINE_LAG_MS) {
      // The common case: no clock read unless the caller sent a deadline.
      this.start1(call, call.deadline === undefined ? 0 : performance.now(), 0);
      return;
    }
    if (this.queue.length - this.head >= MAX_QUEUED_CALLS) {
      this.refuse(call, 'SHED');
      return;
    }
    call.arrivedAt = performance.now();
    call.first = this.queue.length === this.head;
    this.queue.push(call);
    this.waitingBy.set(call.pipeline, (this.waitingBy.get(call.pipeline) ?? 0) + 1);
    this.scheduleDrain();
  }

  /** A call that was run has finished. */
  done(): void {
    this.running--;
    if (this.queue.length > this.head) this.scheduleDrain();
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Calls running and waiting now: what the worker reports as its `load`. */
  get load(): number {
    return this.running + this.queue.length - this.head;
  }

  figures(): AdmissionFigures {
    return { queued: this.queued, running: this.running, ...this.counts, loopDelayMs: this.lagMs };
  }

  // --- internal ---


  /** Runs a call now unless its caller is gone or its deadline passed; `queuedMs`: its wait. */
  private start1(call: ScheduledCall, now: number, queuedMs: number): void {
    if (call.pipeline.gone) {
      this.refuse(call, 'ABANDONED');
      return;
    }
    if (call.deadline !== undefined && now >= call.deadline) {
      this.refuse(call, 'EXPIRED');
      return;
    }
    this.running++;
    call.pipeline.run(call, queuedMs);
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(this.drain);
  }

  /** Runs queued calls for one slice, refusing those that can no longer be answered in time. */
  private readonly drain = (): void => {
    this.draining = false;
    const sliceStart = performance.now();
    let now = sliceStart;
    if (this.options.maxQueueMs > 0) this.shedAged(now);
    while (this.queue.length > this.head) {
      if (this.running >= this.options.maxConcurrentCalls) {
        // Resumed by done(); meanwhile waiting calls may age past maxQueueMs.
        this.armExpiry(now);
        return;
      }
      if (now - sliceStart >= SLICE_MS) {
        this.scheduleDrain();
        return;
      }
      const call = this.queue[this.head]!;
      this.take();
      this.left(call);
      this.start1(call, now, now - call.arrivedAt);
      now = performance.now();
    }
  };

  /**
   * Refuses every waiting call older than maxQueueMs. Calls wait in arrival order, so they are
   * the front of the queue, after the head when the head found the queue empty (exempt).
   */
  private shedAged(now: number): void {
    // One connection's own pipeline (large calls followed by small ones) is that client's
    // backlog, held in check by its in-flight limit and TCP: nobody else waits behind it.
    if (this.waitingBy.size < 2) return;
    const maxQueueMs = this.options.maxQueueMs;
    const from = this.queue[this.head]?.first ? this.head + 1 : this.head;
    let to = from;
    while (to < this.queue.length && now - this.queue[to]!.arrivedAt > maxQueueMs) to++;
    if (to === from) return;
    const aged = this.queue.splice(from, to - from);
    if (this.queue.length === this.head) {
      this.queue.length = 0;
      this.head = 0;
    }
    for (const call of aged) {
      this.left(call);
      this.refuse(call, call.pipeline.gone ? 'ABANDONED' : 'SHED');
    }
  }

  /** A call left the queue. */
  private left(call: ScheduledCall): void {
    const n = this.waitingBy.get(call.pipeline)! - 1;
    if (n === 0) this.waitingBy.delete(call.pipeline);
    else this.waitingBy.set(call.pipeline, n);
  }

  private take(): void {
    this.queue[this.head++] = undefined as unknown as ScheduledCall;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** All slots busy: wake up when the oldest call that may be shed would outlive maxQueueMs. */
  private armExpiry(now: number): void {
    if (this.options.maxQueueMs === 0 || this.expiryTimer) return;
    const oldest = this.queue[this.queue[this.head]?.first ? this.head + 1 : this.head];
    if (!oldest) return;
    const wait = Math.max(1, oldest.arrivedAt + this.options.maxQueueMs - now + 1);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.drain();
    }, wait);
    this.expiryTimer.unref();
  }

  private refuse(call: ScheduledCall, reason: ShedReason): void {
    if (reason === 'SHED') this.counts.shed++;
    else if (reason === 'EXPIRED') this.counts.expired++;
    else this.counts.abandoned++;
    call.pipeline.refuse(call, reason);
    if (reason === 'ABANDONED') return;
    this.unreported++;
    const now = Date.now();
    if (now - this.lastWarnAt >= WARN_INTERVAL_MS) {
      this.log.warn(
        {
          notRun: this.unreported,
          ...this.counts,
          queued: this.queued,
          running: this.running,
          loopDelayMs: Math.round(this.lagMs),
          maxQueueMs: this.options.maxQueueMs,
        },
        `overloaded: ${this.unreported} call(s) not run since the last warning (shed or past their deadline)`,
      );
      this.lastWarnAt = now;
      this.unreported = 0;
    }
  }

  /**
   * The delay is the smaller of the last two samples: one long piece of work (a large message
   * decoded, a slow synchronous handler) makes one late sample and is not a loop that stays
   * behind. Waits and delays are wall-clock time, as callers' timeouts are: time the worker's
   * thread waited for a CPU is part of the overload when the host's own processes compete for
   * the cores (taking it out made calls wait far past maxQueueMs on a host whose workers share
   * a core, and answered them after their callers had left).
   */
  private readonly sampleLag = (): void => {
    const now = performance.now();
    const sample = Math.max(0, now - this.lagExpectedAt);
    this.lagMs = Math.min(sample, this.lastSample);
    this.lastSample = sample;
    this.lagExpectedAt = now + LAG_SAMPLE_MS;
  };
}
