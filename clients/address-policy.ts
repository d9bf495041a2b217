/**
 * The address-picking policy as a pure function of state: which address a call goes to, given
 * the configured addresses, the evicted ones, a clock reading, a random source and, for the
 * least-loaded choice, each address's cost. No sockets, no timers, no files: the address
 * manager feeds it and tests drive it directly.
 */

/** What is known about one evicted address. Times are epoch milliseconds (shared between processes). */
export interface EvictionEntry {
  /** When it was first evicted. */
  evictedAt: number;
  /** Probes that went to it since (they all failed, or it would not be here). */
  attempts: number;
  /** From this time on it is due for one back-off probe. */
  retryAt: number;
}

/** Why an address was picked. Anything but `healthy` is a probe of an evicted address. */
export type PickReason = 'healthy' | 'backoff-probe' | 'detect-probe' | 'last-resort';

/** The policy's answer. */
export interface Pick {
  address: string;
  reason: PickReason;
}

/**
 * How a healthy address is chosen: `least-loaded` draws two at random and takes the cheaper
 * (power of two choices, by {@link PickInput.cost}); `random` takes one at random
 * (workerman-thrift's choice).
 */
export type Balancer = 'least-loaded' | 'random';

/** Everything {@link pickAddress} decides on. */
export interface PickInput {
  addresses: readonly string[];
  evicted: ReadonlyMap<string, EvictionEntry>;
  /** Addresses this call already tried. */
  exclude?: ReadonlySet<string>;
  now: number;
  /** Chance in [0, 1] that a call probes an evicted address while healthy ones exist. */
  detectRate: number;
  /** Source in [0, 1). */
  random: () => number;
  /** @default 'random' */
  balancer?: Balancer;
  /** The cost of one more call to an address (lower is better), for `least-loaded`. @default every address 0 */
  cost?: (address: string) => number;
  /** How likely an address is to be drawn, in (0, 1] (slow start), for `least-loaded`. @default every address 1 */
  weight?: (address: string) => number;
}

/**
 * Picks the address for one call attempt, in this order:
 * 1. an evicted address whose back-off has elapsed (the earliest due), as a probe;
 * 2. with probability `detectRate`, a random evicted address, as a probe (the original's 5/10000);
 * 3. a healthy address: with `least-loaded`, the cheaper of two drawn at random (ties go to the
 *    first drawn); with `random`, one drawn at random;
 * 4. when every candidate is evicted, the one due soonest, as a last resort.
 *
 * Returns undefined only when `exclude` covers every address.
 */
export function pickAddress(input: PickInput): Pick | undefined {
  const { evicted, exclude, now, random } = input;
  const candidates = exclude?.size ? input.addresses.filter((a) => !exclude.has(a)) : input.addresses;
  if (candidates.length === 0) return undefined;

  const healthy: string[] = [];
  const bad: string[] = [];
  for (const a of candidates) (evicted.has(a) ? bad : healthy).push(a);

  if (bad.length > 0) {
    const soonest = earliestDue(bad, evicted);
    if ((evicted.get(soonest)?.retryAt ?? 0) <= now) return { address: soonest, reason: 'backoff-probe' };
    if (healthy.length === 0) return { address: soonest, reason: 'last-resort' };
    if (input.detectRate > 0 && random() < input.detectRate) {
      return { address: pickRandom(bad, random), reason: 'detect-probe' };
    }
  }
  const address =
    input.balancer === 'least-loaded' && input.cost
      ? pickTwo(healthy, input.cost, random, input.weight)
      : pickRandom(healthy, random);
  return { address, reason: 'healthy' };
}

/**
 * Power of two choices: two distinct entries drawn at random, the one of lower `cost` kept (the
 * first drawn on a tie). Avoids both the herd a pure least-cost choice causes (every caller
 * rushing to the same address between two updates) and the blindness of a random one. Draws
 * are uniform, or proportional to `weight` when some entry weighs less than 1 (slow start).
 */
export function pickTwo(
  list: readonly string[],
  cost: (address: string) => number,
  random: () => number,
  weight?: (address: string) => number,
): string {
  const n = list.length;
  if (n === 1) return list[0] as string;
  const weights = weight ? list.map(weight) : undefined;
  let i: number;
  let j: number;
  if (weights && weights.some((w) => w < 1)) {
    const total = weights.reduce((a, b) => a + b, 0);
    i = drawWeighted(weights, total, random(), -1);
    j = drawWeighted(weights, total - weights[i]!, random(), i);
  } else {
    i = Math.min(n - 1, Math.floor(random() * n));
    j = Math.min(n - 2, Math.floor(random() * (n - 1)));
    if (j >= i) j++;
  }
  const a = list[i] as string;
  const b = list[j] as string;
  return cost(b) < cost(a) ? b : a;
}

// --- internal ---

function earliestDue(bad: string[], evicted: ReadonlyMap<string, EvictionEntry>): string {
  let best = bad[0] as string;
  for (const a of bad) if ((evicted.get(a)?.retryAt ?? 0) < (evicted.get(best)?.retryAt ?? 0)) best = a;
  return best;
}

/** The index `r` (in [0, 1)) falls on when each entry but `skip` takes a span of its weight. */
function drawWeighted(weights: readonly number[], total: number, r: number, skip: number): number {
  let at = r * total;
  let last = -1;
  for (let k = 0; k < weights.length; k++) {
    if (k === skip) continue;
    last = k;
    at -= weights[k]!;
    if (at < 0) return k;
  }
  return last;
}

function pickRandom(list: readonly string[], random: () => number): string {
  return list[Math.min(list.length - 1, Math.floor(random() * list.length))] as string;
}
