// What the chaos report publishes: not one run, the best or the latest, but every run recorded at
// the same commit with the same options, row by row: how many passed, and the min–max of each
// figure over them (calls, failures, losses, crashes, and the row's `measured` value, e.g. 6b's
// RSS growth against its bound). One run over a bound in three is then in the table.

/** The numeric columns of a row that the spread covers, besides `measured`. */
const COUNTS = ['calls', 'inputs', 'failed', 'lost', 'crashes'];

/**
 * Row by row over `runs` (run records as chaos/run.mjs stores them, oldest first): a row is
 * identified by its scenario id and its position in that scenario's rows (its title may hold
 * figures of the run). Runs that did not include a scenario do not count for its rows.
 * @returns {Array<{ key: string, scenario: string, target: string, runs: number, passed: number,
 *   values: Record<string, Array<number | null>>, measured?: { name: string, unit: string,
 *   bound?: number, values: Array<number | null> }, seeds: Array<number | string> }>}
 */
export function spreadOverRuns(runs) {
  const byKey = new Map();
  for (const run of runs) {
    for (const s of run.scenarios) {
      s.rows.forEach((row, i) => {
        const key = `${s.id}#${i}`;
        let entry = byKey.get(key);
        if (!entry) {
          entry = { key, scenario: row.scenario, target: row.target, runs: 0, passed: 0, values: {}, seeds: [] };
          for (const c of COUNTS) entry.values[c] = [];
          byKey.set(key, entry);
        }
        // The latest run names the row.
        entry.scenario = row.scenario;
        entry.target = row.target;
        entry.runs += 1;
        if (row.pass) entry.passed += 1;
        entry.seeds.push(run.seed);
        for (const c of COUNTS) entry.values[c].push(count(row[c]));
        if (row.measured) {
          entry.measured ??= { name: row.measured.name, unit: row.measured.unit, bound: row.measured.bound, values: [] };
          entry.measured.values.push(row.measured.value);
        }
      });
    }
  }
  return [...byKey.values()];
}

/** `min–max` of the finite values (`7` when they are all the same; `-` when there are none). */
export function range(values, digits = 0) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return '-';
  const f = (x) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
  const [lo, hi] = [Math.min(...v), Math.max(...v)];
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
}

// --- internal ---

/** A count column: a number, `a / b` for rows with two figures (their sum), or null. */
function count(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+ \/ \d+$/.test(v)) return v.split(' / ').reduce((n, x) => n + Number(x), 0);
  return null;
}
