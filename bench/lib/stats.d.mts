// Types of bench/lib/stats.mjs for the tests that import it (test/bench-stats.test.ts).

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Detection {
  detected: boolean;
  direction: 'expected' | 'opposite' | 'none';
  sized: boolean;
  mark: string;
}

export const RUNS: number;
export const INTERVAL_NOTE: string;
export function median(values: number[]): number;
export function spread(values: number[]): Spread | undefined;
export function pairedRatios<T extends { rep: number }>(a: T[], b: T[], field: string | ((row: T) => number)): number[];
export function verdict(
  s: Spread | undefined,
  target: number,
  better?: 'higher' | 'lower',
): { mark: string; met: boolean | undefined };
export function detects(s: Spread | undefined, expected: number): Detection;
export function fmtSpread(s: Spread | undefined, digits?: number, unit?: string): string;
