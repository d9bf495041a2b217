/**
 * The benches' CPU-burning handler (bench/lib/spin.cjs): a process started with `spinEnv(ns)`
 * burns its loop at the speed the starting process measured, not at one it times itself, so
 * that workers starting together on one core cannot each time the loop while the other runs
 * and end up burning different amounts per call. Counted in loop iterations, not timed.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SPIN = path.resolve(__dirname, '../bench/lib/spin.cjs');
const { spinEnv } = createRequire(__filename)(SPIN) as {
  spinEnv: (ns: number) => Record<string, string>;
};

/** `iterationsPerNs()` as a fresh process sees it with `env`. */
function childPerNs(env: Record<string, string>): number {
  const out = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(SPIN)}).iterationsPerNs())`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return Number(out.trim());
}

describe('bench spin handler', () => {
  it('uses the loop speed passed by the process that started it', () => {
    // A value no timing on any machine would produce: it can only come from the environment.
    expect(childPerNs({ THRIFTHOST_BENCH_SPIN_PER_NS: '0.123456789' })).toBe(0.123456789);
  });

  it('passes the nanoseconds and the speed measured once in this process', () => {
    const a = spinEnv(2_000_000);
    const b = spinEnv(1_000);
    expect(a.THRIFTHOST_BENCH_SPIN_NS).toBe('2000000');
    expect(Number(a.THRIFTHOST_BENCH_SPIN_PER_NS)).toBeGreaterThan(0);
    expect(b.THRIFTHOST_BENCH_SPIN_PER_NS).toBe(a.THRIFTHOST_BENCH_SPIN_PER_NS);
  });

  it('times the loop itself when nothing is passed', () => {
    expect(process.env.THRIFTHOST_BENCH_SPIN_PER_NS).toBeUndefined();
    expect(childPerNs({})).toBeGreaterThan(0);
  });
});
