/**
 * SplitCalls expiry runs from the reply: a call slower than the expiry (waiting for a pool
 * slot, connecting, retrying) is still collectable, and an uncollected reply is freed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SplitCalls } from '../clients/split-calls.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('SplitCalls expiry', () => {
  it('keeps a call that settles after the expiry time, then frees an uncollected reply', async () => {
    vi.useFakeTimers();
    const calls = new SplitCalls('HelloWorld', 100);
    let answer!: (v: string) => void;
    calls.hold('sayHello', ['SLOW'], () => new Promise<string>((r) => (answer = r)));
    calls.hold('sayHello', ['IGNORED'], () => Promise.resolve('Hello IGNORED'));

    await vi.advanceTimersByTimeAsync(250); // longer than the expiry, the slow call still runs
    answer('Hello SLOW');
    await expect(calls.collect('sayHello', ['SLOW'])).resolves.toBe('Hello SLOW');

    // The fast reply nobody collected expired 100 ms after it arrived.
    expect(calls.size).toBe(0);
    expect(() => calls.collect('sayHello', ['IGNORED'])).toThrow(/no matching asend_sayHello/);
  });
});
