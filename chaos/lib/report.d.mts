// Types of chaos/lib/report.mjs for the tests that import it (test/chaos-run-spread.test.ts).
import type { RowSpread } from './run-spread.mjs';

export function spreadTable(spread: RowSpread[]): string;
export function markdownTable(run: unknown): string;
export function formatTable(run: unknown): string;
export function markdownReport(run: unknown, options?: { runs?: unknown[]; spread?: RowSpread[] }): string;
