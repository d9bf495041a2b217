/**
 * What the client's choice of address costs per call (issue 20): the least-loaded choice (power
 * of two choices over calls in flight × Peak EWMA) against workerman-thrift's random pick, both
 * through the real AddressManager of dist/clients, for 3 and 10 addresses. Two measures each:
 * the pick alone, and the whole per-attempt bookkeeping a call does (pick, attemptStarted,
 * attemptEnded: in-flight count, latency estimate, breaker). CPU time of this process
 * (process.cpuUsage) per call, variants interleaved in each round; the table shows the median
 * ns/call and the median (min–max) of the per-round ratios against the random pick
 * (bench/lib/stats.mjs).
 *
 *   node bench/balancer-choice.mjs [--rounds 7] [--calls 200000]
 * Also run by `node bench/run.mjs --suites balancer`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { finishRun, runLine, startRun } from './lib/run-info.mjs';
import { fmtSpread, median, spread } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Defaults of {@link runBalancer}. */
export const BALANCER_DEFAULTS = { rounds: 7, calls: 200_000, addressCounts: [3, 10] };

/**
 * Runs the comparison; resolves `{ run, rows, text, markdown }`.
 * @param {{ rounds?: number, calls?: number, addressCounts?: number[] }} options
 */
export async function runBalancer(options = {}) {
  const o = { ...BALANCER_DEFAULTS, ...options };
  const { AddressManager } = require(path.join(here, '../dist/clients/address-manager.js'));
  const run = startRun();
  const rows = [];
  for (const n of o.addressCounts) {
    const addresses = Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:9090`);
    const variants = {
      'random: pick': measure(AddressManager, addresses, 'random', false),
      'least-loaded: pick': measure(AddressManager, addresses, 'least-loaded', false),
      'random: pick + attempt bookkeeping': measure(AddressManager, addresses, 'random', true),
      'least-loaded: pick + attempt bookkeeping': measure(AddressManager, addresses, 'least-loaded', true),
    };
    const ns = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    // One unmeasured round: the JIT has compiled every path before the first figure.
    for (const run1 of Object.values(variants)) run1(o.calls);
    for (let r = 0; r < o.rounds; r++) {
      // Rotate the order so that no variant always runs first.
      const names = Object.keys(variants);
      const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
      for (const name of order) ns[name].push(variants[name](o.calls));
    }
    for (const name of Object.keys(variants)) {
      const base = name.endsWith('bookkeeping') ? 'random: pick + attempt bookkeeping' : 'random: pick';
      rows.push({
        addresses: n,
        variant: name,
        nsPerCall: median(ns[name]),
        ratio: spread(ns[name].map((v, i) => v / ns[base][i])),
        ratioToRandomPick: spread(ns[name].map((v, i) => v / ns['random: pick'][i])),
      });
    }
  }
  const info = finishRun(run);
  const header = `| addresses | variant | median ns/call | ratio to random (same measure), median (min–max over ${o.rounds} rounds) |`;
  const lines = [
    header,
    '| ---: | --- | ---: | --- |',
    ...rows.map((r) => `| ${r.addresses} | ${r.variant} | ${Math.round(r.nsPerCall)} | ${fmtSpread(r.ratio, 2)} |`),
  ];
  const text = `${runLine(info)}\n${lines.join('\n')}`;
  const markdown = `## Address choice: least-loaded against random\n\n${runLine(info)}; ${o.calls.toLocaleString('en-US')} calls per round, CPU time of one process.\n\n${lines.join('\n')}\n`;
  return { run: info, rows, text, markdown };
}

// --- internal ---

/** A function running `calls` picks (and, with `bookkeeping`, the attempt's accounting); returns CPU ns per call. */
function measure(AddressManager, addresses, balancer, bookkeeping) {
  let seed = 42;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let clock = 1_000_000;
  const m = new AddressManager({
    service: 'Bench',
    addresses,
    detectRate: 0.0005,
    evictAfterFailures: 5,
    evictBelowSuccessRate: 0.8,
    successRateWindow: 100,
    maxEvictedRatio: 0.5,
    backoff: { initialMs: 1_000, maxMs: 60_000, multiplier: 2, jitter: 0.2 },
    stateDir: undefined,
    stateSyncMs: 200,
    balancer,
    slowStartMs: 1_000,
    latencyDecayMs: 10_000,
    now: () => clock,
    random,
  });
  // Every address measured once, at different latencies.
  addresses.forEach((a, i) => {
    const since = m.attemptStarted(a);
    m.attemptEnded(a, 'success', 1 + i, since);
  });
  return (calls) => {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      clock += 0.01;
      const { address } = m.pick();
      if (bookkeeping) {
        const since = m.attemptStarted(address);
        m.attemptEnded(address, 'success', 1 + (i % 7) * 0.1, since);
      }
    }
    const used = process.cpuUsage(before);
    return ((used.user + used.system) * 1000) / calls;
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { rounds: { type: 'string' }, calls: { type: 'string' } },
  });
  const result = await runBalancer({
    ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    ...(values.calls ? { calls: Number(values.calls) } : {}),
  });
  console.log(result.text);
}
