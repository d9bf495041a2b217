// The random seed of a chaos or fuzz run: drawn afresh for every run unless one is given, printed,
// stored with the results, and the only source of the choices the harness makes (fuzz inputs,
// which worker to kill, when), so that `--seed S` replays them. It does not fix what the machine
// and the client decide on their own: timing, and the client's Math.random (detectRate, jitter).

/** A fresh 32-bit seed. */
export function newSeed() {
  return (Math.random() * 2 ** 32) >>> 0;
}

/**
 * The seed given as `--seed` (any 32-bit unsigned integer), or a fresh one.
 * @throws when `text` is given but is not such an integer
 */
export function parseSeed(text) {
  if (text === undefined) return newSeed();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
    throw new Error(`--seed must be an integer from 0 to ${2 ** 32 - 1}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * A seed of its own for one part of a run (a scenario, a protocol combination), so that running
 * that part alone (`--only 2`) with the run's seed replays what it did within the whole run.
 */
export function deriveSeed(seed, label) {
  let h = seed >>> 0;
  for (const ch of String(label)) h = Math.imul(h ^ ch.charCodeAt(0), 0x9e3779b1) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: a small PRNG whose whole state is one 32-bit seed. */
export function prng(seed) {
  let s = seed | 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}
