// The published chaos table (chaos/lib/run-spread.mjs, chaos/lib/report.mjs) is every run recorded
// at one commit, row by row: a row over its bound in one run of three shows as such, with the
// spread of its measured value, not as the best run's pass.
import { beforeAll, describe, expect, it } from 'vitest';

// The chaos libraries are ES modules; this file is compiled as CommonJS, so they are imported dynamically.
let report: typeof import('../chaos/lib/report.mjs', { with: { 'resolution-mode': 'import' } });
let spreads: typeof import('../chaos/lib/run-spread.mjs', { with: { 'resolution-mode': 'import' } });
beforeAll(async () => {
  report = await import('../chaos/lib/report.mjs');
  spreads = await import('../chaos/lib/run-spread.mjs');
});
const spreadTable: typeof report.spreadTable = (s) => report.spreadTable(s);
const spreadOverRuns: typeof spreads.spreadOverRuns = (runs) => spreads.spreadOverRuns(runs);
const range: typeof spreads.range = (values, digits) => spreads.range(values, digits);

/** A recorded run of scenario 6 whose 6b row measured `rssMB` of growth (bound 96). */
function run6(seed: number, rssMB: number, calls: number) {
  const row6a = { scenario: '6a 5,000 idle connections', calls: 80_000, failed: 0, lost: 0, crashes: 0, target: 'all accepted', pass: true };
  const row6b = {
    scenario: '6b 4 non-reading clients, 48 x 1 MiB replies each',
    calls,
    failed: 0,
    lost: 0,
    crashes: 0,
    target: 'RSS +<= 96 MB',
    measured: { name: 'worker RSS +', value: rssMB, unit: 'MB', bound: 96 },
    pass: rssMB <= 96,
  };
  return {
    seed,
    date: `2026-12-0${seed}T00:00:00.000Z`,
    mode: 'default',
    options: {},
    machine: { loadavg: [1, 1, 1] },
    scenarios: [{ id: '6', rows: [row6a, row6b] }],
  };
}

describe('chaos report over recorded runs', () => {
  const runs = [run6(1, 59.3, 240_000), run6(2, 98.3, 250_000), run6(3, 61.6, 245_000)];

  it('counts, for each row, the runs that passed and the min–max of its measured value', () => {
    const rows = spreadOverRuns(runs);
    const b = rows.find((r) => r.key === '6#1');
    expect(b).toMatchObject({ runs: 3, passed: 2 });
    expect(b?.measured?.values).toEqual([59.3, 98.3, 61.6]);
    expect(range(b?.measured?.values ?? [], 1)).toBe('59.3–98.3');
    expect(range(b?.values.calls ?? [])).toBe('240,000–250,000');
    expect(rows.find((r) => r.key === '6#0')).toMatchObject({ runs: 3, passed: 3 });
  });

  it('publishes a row that failed in one run of three as a failure, with the spread', () => {
    const table = spreadTable(spreadOverRuns(runs));
    const line = table.split('\n').find((l) => l.startsWith('| 6b'));
    expect(line).toContain('FAIL in 1 of 3');
    expect(line).toContain('2 / 3');
    expect(line).toContain('worker RSS + 59.3–98.3 MB (bound 96)');
    expect(table.split('\n').find((l) => l.startsWith('| 6a'))).toMatch(/\| PASS \|$/);
  });

  it('counts a row only over the runs that included its scenario', () => {
    const other = { ...run6(4, 50, 1), scenarios: [{ id: '8', rows: [{ scenario: '8 stop', calls: 10, failed: 0, lost: 0, crashes: 0, target: 't', pass: true }] }] };
    const rows = spreadOverRuns([...runs, other]);
    expect(rows.find((r) => r.key === '6#1')?.runs).toBe(3);
    expect(rows.find((r) => r.key === '8#0')?.runs).toBe(1);
  });
});
