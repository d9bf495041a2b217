/**
 * How every bench turns interleaved runs into a claim: a ratio is taken within each run (the two
 * contenders measured back to back in the same round), and the per-run ratios are summarised as
 * their median and min–max. A target is met only when the whole min–max interval clears it, and
 * a calibration difference is detected only when the interval excludes 1 on the side of the
 * injected difference and holds the ratio that difference should give.
 *
 * Why min–max: with n independent runs, the smallest and largest per-run ratio bracket the true
 * median ratio with probability 1 − 2^(1−n) (93.8 % at 5 runs, 98.4 % at 7), whatever the
 * distribution (an order-statistic interval; a bootstrap interval of the median of 5 values
 * comes out as the same min–max). It is deterministic and can be checked by hand from the runs.
 */

/** The default number of interleaved runs per cell, in every bench. */
export const RUNS = 5;

/** One sentence for reports: what the interval is and how a verdict is read. */
export const INTERVAL_NOTE =
  'Ratios are taken per interleaved run (both contenders in the same round) and shown as median ' +
  '(min–max over the runs); with n runs that interval holds the true median ratio with probability ' +
  '1 − 2^(1−n) (93.8 % at n = 5). ✓ met: the whole interval clears the target; ✗ missed: none of ' +
  'it does; ~ the interval straddles the target (not resolved).';

/** Median of the finite numbers in `values` (NaN when there are none). */
export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Median and min–max of per-run values (usually ratios).
 * @returns {{ median: number, min: number, max: number, n: number } | undefined} undefined when
 *   no value is finite
 */
export function spread(values) {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * `field` of `a` over `field` of `b`, one ratio per run: rows are paired by `rep` (the round they
 * ran in), so a ratio never mixes two rounds.
 * @param {Array<{ rep: number }>} a
 * @param {Array<{ rep: number }>} b
 * @param {string | ((row: object) => number)} field
 */
export function pairedRatios(a, b, field) {
  const get = typeof field === 'function' ? field : (r) => r[field];
  return a
    .map((x) => {
      const y = b.find((r) => r.rep === x.rep);
      return y ? get(x) / get(y) : NaN;
    })
    .filter(Number.isFinite);
}

/**
 * Whether an interval clears `target`: `higher` means the figure must be ≥ target, `lower` ≤.
 * @returns {{ mark: '✓ met' | '✗ missed' | '~ unresolved', met: boolean | undefined }}
 */
export function verdict(s, target, better = 'higher') {
  if (!s) return { mark: '– no data', met: undefined };
  const [worst, best] = better === 'higher' ? [s.min, s.max] : [s.max, s.min];
  const clears = (v) => (better === 'higher' ? v >= target : v <= target);
  if (clears(worst)) return { mark: '✓ met', met: true };
  if (!clears(best)) return { mark: '✗ missed', met: false };
  return { mark: '~ unresolved', met: undefined };
}

/**
 * Whether a calibration run saw the difference it injected: the interval of per-run ratios
 * `s` must exclude 1 on the side of `expected` (a slower variant must come out slower), and
 * `expected`, the ratio the injected cost should give, must lie inside it (a difference of the
 * wrong size is not the one injected). `expected` is a ratio, e.g. 1.06 for +2 µs on 33 µs of
 * CPU per request, or 0.94 for the req/s a CPU-bound server would then serve.
 * @returns {{ detected: boolean, direction: 'expected' | 'opposite' | 'none', sized: boolean,
 *   mark: string }} `detected` only when both the direction and the size hold; `mark` says
 *   which failed, for reports
 */
export function detects(s, expected) {
  if (!s || !Number.isFinite(expected) || expected === 1)
    return { detected: false, direction: 'none', sized: false, mark: 'not detected (no data)' };
  const up = expected > 1;
  const direction = (up ? s.min > 1 : s.max < 1)
    ? 'expected'
    : (up ? s.max < 1 : s.min > 1)
      ? 'opposite'
      : 'none';
  const sized = s.min <= expected && expected <= s.max;
  const want = `expected ${expected.toFixed(3)}×`;
  const mark =
    direction === 'none'
      ? `not detected (interval includes 1; ${want})`
      : direction === 'opposite'
        ? `not detected: opposite direction (${want})`
        : sized
          ? `detected (${want}, inside the interval)`
          : `not detected: wrong size (${want}, outside the interval)`;
  return { detected: direction === 'expected' && sized, direction, sized, mark };
}

/** `1.23× (1.10–1.35)`, or `n/a`. */
export function fmtSpread(s, digits = 2, unit = '×') {
  if (!s) return 'n/a';
  const f = (x) => x.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}
