/**
 * The bookkeeping behind `asend_X(args)` / `arecv_X(args)`: a sent call waits here, keyed by
 * method and arguments, until the matching receive collects it. A reply nobody collects expires
 * a fixed time (the call timeout) after it arrived, so a send that is never collected frees its memory.
 */
import { ArecvWithoutAsendError, AsendDuplicateError } from './errors.js';

/** Pending split calls of one service client. */
export class SplitCalls {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly service: string,
    private readonly expireMs: number,
  ) {}

  /** Calls not collected yet. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Holds the reply of a call just sent.
   * @throws AsendDuplicateError when an equal send is still uncollected (checked before sending).
   */
  hold(method: string, args: readonly unknown[], send: () => Promise<unknown>): void {
    const key = splitKey(method, args);
    if (this.entries.has(key)) {
      throw new AsendDuplicateError(
        `${this.service}.asend_${method}(${describe(args)}) is already pending; call arecv_${method} with the same ` +
          'arguments first (a send is matched by method and equal arguments)',
      );
    }
    const reply = send();
    const entry: Entry = { reply, timer: undefined };
    this.entries.set(key, entry);
    // The expiry runs from the reply, not the send: a call still waiting for a connection or
    // retrying elsewhere is not dropped, and every call settles (its own timeout bounds it).
    const arm = () => {
      if (this.entries.get(key) !== entry) return;
      entry.timer = setTimeout(() => this.entries.get(key) === entry && this.entries.delete(key), this.expireMs);
      entry.timer.unref();
    };
    // Held replies may fail before anyone collects them: never an unhandled rejection.
    reply.then(arm, arm);
  }

  /**
   * The reply of the matching earlier send.
   * @throws ArecvWithoutAsendError when there is none (never sent, already collected, or expired).
   */
  collect(method: string, args: readonly unknown[]): Promise<unknown> {
    const key = splitKey(method, args);
    const entry = this.entries.get(key);
    if (!entry) {
      throw new ArecvWithoutAsendError(
        `${this.service}.arecv_${method}(${describe(args)}) has no matching asend_${method}: it was never sent, ` +
          `already received, or expired (uncollected sends expire after ${this.expireMs} ms)`,
      );
    }
    clearTimeout(entry.timer);
    this.entries.delete(key);
    return entry.reply;
  }

  /** Forgets every held call. */
  clear(): void {
    for (const { timer } of this.entries.values()) clearTimeout(timer);
    this.entries.clear();
  }
}

// --- internal ---

interface Entry {
  reply: Promise<unknown>;
  timer: NodeJS.Timeout | undefined;
}

/** A stable text for method + arguments; Buffers, Int64, bigint, Map and Set compare by content. */
function splitKey(method: string, args: readonly unknown[]): string {
  return `${method}\0${JSON.stringify(args, (_key, value) => {
    if (typeof value === 'bigint') return `${value}n`;
    if (value instanceof Map) return ['Map', [...value.entries()]];
    if (value instanceof Set) return ['Set', [...value.values()]];
    return value;
  })}`;
}

function describe(args: readonly unknown[]): string {
  const text = args.map((a) => (typeof a === 'string' ? JSON.stringify(a) : String(a))).join(', ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
