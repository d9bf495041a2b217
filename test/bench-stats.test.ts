// The bench's calibration verdict (bench/lib/stats.mjs): an injected cost counts as seen only when
// the per-run ratios move the way it pushes them and by about as much.
import { beforeAll, describe, expect, it } from 'vitest';

// bench/lib/stats.mjs is an ES module; this file is compiled as CommonJS, so it is imported dynamically.
let stats: typeof import('../bench/lib/stats.mjs', { with: { 'resolution-mode': 'import' } });
beforeAll(async () => {
  stats = await import('../bench/lib/stats.mjs');
});
const runs = (...ratios: number[]) => stats.spread(ratios);
const detects: typeof stats.detects = (s, expected) => stats.detects(s, expected);

describe('detects (calibration of a bench)', () => {
  it('detects a slowdown whose interval excludes 1 and holds the injected ratio', () => {
    const d = detects(runs(1.04, 1.05, 1.06, 1.07, 1.09), 1.06);
    expect(d).toMatchObject({ detected: true, direction: 'expected', sized: true });
  });

  it('does not detect a difference in the opposite direction, however clear', () => {
    const d = detects(runs(0.8, 0.82, 0.85, 0.86, 0.9), 1.06);
    expect(d).toMatchObject({ detected: false, direction: 'opposite' });
    expect(d.mark).toMatch(/opposite/);
  });

  it('does not detect a difference far larger than the one injected', () => {
    const d = detects(runs(1.3, 1.35, 1.4, 1.45, 1.5), 1.06);
    expect(d).toMatchObject({ detected: false, direction: 'expected', sized: false });
    expect(d.mark).toMatch(/wrong size/);
  });

  it('does not detect a difference far smaller than the one injected', () => {
    const d = detects(runs(1.01, 1.01, 1.02, 1.02, 1.03), 1.5);
    expect(d).toMatchObject({ detected: false, sized: false });
  });

  it('does not detect an interval that includes 1', () => {
    const d = detects(runs(0.97, 1.02, 1.06, 1.1, 1.2), 1.06);
    expect(d).toMatchObject({ detected: false, direction: 'none', sized: true });
  });

  it('reads a speed-up the same way: req/s falling by the injected ratio is detected', () => {
    expect(detects(runs(0.9, 0.92, 0.94, 0.95, 0.97), 0.94).detected).toBe(true);
    expect(detects(runs(1.03, 1.05, 1.06, 1.08, 1.1), 0.94).direction).toBe('opposite');
  });

  it('detects nothing without runs or without an expected difference', () => {
    expect(detects(undefined, 1.06).detected).toBe(false);
    expect(detects(runs(1.1, 1.2, 1.3), Number.NaN).detected).toBe(false);
  });
});
