// Types of chaos/lib/run-spread.mjs for the tests that import it (test/chaos-run-spread.test.ts).

export interface RowSpread {
  key: string;
  scenario: string;
  target: string;
  runs: number;
  passed: number;
  values: Record<string, Array<number | null>>;
  measured?: { name: string; unit: string; bound?: number; values: Array<number | null> };
  seeds: Array<number | string>;
}

export function spreadOverRuns(runs: unknown[]): RowSpread[];
export function range(values: Array<number | null>, digits?: number): string;
