// Scenario 7: soak. Steady, paced load on HelloWorld and Catalog (replies, declared exceptions,
// containers) while the RSS of every worker is sampled (the control socket's status, the same
// figures as `rpc status --json` rssBytes). Reports the least-squares slope in MB/min after a
// warm-up, per worker. Every call counts: one that failed, settled after the latency bound, or
// never settled (still pending a grace period after the load stopped) fails the scenario.
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { catalogService, GEN_DIR, helloService, Host, sleep } from '../lib/host.mjs';
import { helloCall, MB, round, runLoops, slope, thrift, ThriftClient } from '../lib/load.mjs';

const { Item, NotFound } = createRequire(import.meta.url)(path.join(GEN_DIR, 'Catalog/Catalog_types.js'));

/** Largest acceptable RSS growth trend of any worker after warm-up. */
const MAX_SLOPE_MB_PER_MIN = 1;
/**
 * A run shorter than this cannot tell a trend from V8 growing its heap in steps of a few MB, so
 * it is judged by total growth after warm-up instead (no runaway), and says so.
 */
const MIN_MS_FOR_SLOPE = 120_000;
const MAX_SHORT_RUN_GROWTH_MB = 16;
/**
 * The slowest acceptable call: hundreds of times the usual latency on loopback, and well under
 * the client's 5 s call timeout, so that a slow call counts as slow, not only as a timeout.
 */
const LATENCY_BOUND_MS = 1000;
/** After the load stops, how long pending calls get to settle before they count as never settled. */
const GRACE_MS = 6000;

export default {
  id: '7',
  title: 'soak: steady load, worker RSS trend',
  limitMs: ({ quick, soak }) => (quick ? 90_000 : soak ? 720_000 : 210_000),
  async run({ quick, soak, log }) {
    const durationMs = quick ? 40_000 : soak ? 600_000 : 120_000;
    const everyMs = quick ? 2_000 : soak ? 15_000 : 5_000;
    const warmupMs = durationMs * 0.25;
    const host = await Host.create({
      label: 's7',
      services: [
        helloService(2),
        catalogService(),
      ],
    });
    try {
      await host.start();
      await ThriftClient.reset();
      ThriftClient.config({
        HelloWorld: { addresses: [host.address('HelloWorld')], serviceDir: GEN_DIR, stateDir: host.dir },
        Catalog: {
          addresses: [host.address('Catalog')],
          transport: 'framed',
          serviceDir: GEN_DIR,
          stateDir: host.dir,
        },
      });
      const hello = ThriftClient.instance('HelloWorld');
      const catalog = ThriftClient.instance('Catalog');
      const helloLoad = runLoops({
        label: 'HelloWorld',
        concurrency: 4,
        ratePerSec: 1000,
        boundMs: LATENCY_BOUND_MS,
        call: helloCall(hello, 's'),
      });
      const catalogLoad = runLoops({
        label: 'Catalog',
        concurrency: 2,
        ratePerSec: 400,
        boundMs: LATENCY_BOUND_MS,
        call: (loop, n) => catalogCall(catalog, loop, n),
      });
      const samples = [];
      const t0 = performance.now();
      while (performance.now() - t0 < durationMs) {
        const status = await host.status().catch(() => undefined);
        const minute = (performance.now() - t0) / 60_000;
        for (const w of status?.workers ?? []) {
          if (w.rssBytes != null)
            samples.push({ minute, pid: w.pid, service: w.service, rssMB: w.rssBytes / MB });
        }
        await sleep(everyMs);
      }
      const [th, tc] = await Promise.all([helloLoad.stop(GRACE_MS), catalogLoad.stop(GRACE_MS)]);
      await ThriftClient.destroy();
      const perWorker = {};
      for (const s of samples) {
        perWorker[s.pid] ??= { service: s.service, points: [] };
        perWorker[s.pid].points.push(s);
      }
      const warm = warmupMs / 60_000;
      const workers = Object.entries(perWorker).map(([pid, { service, points }]) => {
        const after = points.filter((p) => p.minute >= warm);
        const growthAfterWarmupMB = after.length > 0 ? round(after.at(-1).rssMB - after[0].rssMB) : 0;
        return {
          growthAfterWarmupMB,
          pid: Number(pid),
          service,
          samples: points.length,
          firstMB: round(points[0].rssMB),
          lastMB: round(points.at(-1).rssMB),
          maxMB: round(Math.max(...points.map((p) => p.rssMB))),
          slopeAllMBPerMin: round(
            slope(
              points.map((p) => p.minute),
              points.map((p) => p.rssMB),
            ),
            2,
          ),
          slopeAfterWarmupMBPerMin: round(
            slope(
              after.map((p) => p.minute),
              after.map((p) => p.rssMB),
            ),
            2,
          ),
          series: points.map((p) => [round(p.minute, 2), round(p.rssMB)]),
        };
      });
      const worst = Math.max(...workers.map((w) => w.slopeAfterWarmupMBPerMin));
      const crashes = host.unexpectedExits().length;
      const calls = th.calls + tc.calls;
      const failed = th.failed + tc.failed;
      const neverSettled = th.neverSettled + tc.neverSettled;
      // Tally.overBound includes the calls that never settled; these settled, but late.
      const late = th.overBound + tc.overBound - neverSettled;
      const p99 = { hello: th.summary().p99Ms, catalog: tc.summary().p99Ms };
      const maxMs = round(Math.max(th.maxMs, tc.maxMs));
      log(
        `slopes after warm-up (MB/min): ${workers.map((w) => `${w.service} ${w.slopeAfterWarmupMBPerMin}`).join(', ')}; ` +
          `p99 ${p99.hello} / ${p99.catalog} ms, max ${maxMs} ms, ${late} over ${LATENCY_BOUND_MS} ms, ${neverSettled} never settled`,
      );
      const bySlope = durationMs >= MIN_MS_FOR_SLOPE;
      const worstGrowth = Math.max(...workers.map((w) => w.growthAfterWarmupMB));
      const memoryOk = bySlope ? worst <= MAX_SLOPE_MB_PER_MIN : worstGrowth <= MAX_SHORT_RUN_GROWTH_MB;
      const callsOk =
        th.calls > 0 && tc.calls > 0 && failed === 0 && neverSettled === 0 && late === 0 && th.wrong + tc.wrong === 0;
      const pass = callsOk && crashes === 0 && workers.length === 3 && memoryOk;
      return {
        rows: [
          {
            scenario: `7 soak ${round(durationMs / 60_000, 1)} min, 1400 calls/s`,
            calls,
            failed,
            lost: th.wrong + tc.wrong + neverSettled,
            crashes,
            recover:
              `RSS slope ${workers.map((w) => w.slopeAfterWarmupMBPerMin).join(' / ')} MB/min; ` +
              `p99 ${p99.hello} / ${p99.catalog} ms, max ${maxMs} ms; ${late} over ${LATENCY_BOUND_MS} ms, ${neverSettled} never settled`,
            target:
              (bySlope
                ? `slope <= ${MAX_SLOPE_MB_PER_MIN} MB/min per worker`
                : `too short for a slope: growth after warm-up <= ${MAX_SHORT_RUN_GROWTH_MB} MB per worker`) +
              `; 0 failed, 0 over ${LATENCY_BOUND_MS} ms, 0 never settled (${GRACE_MS / 1000} s grace)`,
            measured: bySlope
              ? { name: 'worst RSS slope', value: worst, unit: 'MB/min', bound: MAX_SLOPE_MB_PER_MIN }
              : { name: 'worst RSS growth after warm-up', value: worstGrowth, unit: 'MB', bound: MAX_SHORT_RUN_GROWTH_MB },
            pass,
            note: pass
              ? undefined
              : `worst slope ${worst} MB/min, worst growth ${worstGrowth} MB; errors ${JSON.stringify({ ...th.codes, ...tc.codes })}; ${late} over ${LATENCY_BOUND_MS} ms, ${neverSettled} never settled`,
          },
        ],
        details: {
          durationMs,
          sampleEveryMs: everyMs,
          warmupMs,
          slopeFit: 'least squares of RSS (MB) over time (min), samples after the warm-up',
          latencyBoundMs: LATENCY_BOUND_MS,
          graceMs: GRACE_MS,
          calls: 'per load: overBound = calls slower than the bound or never settled; neverSettled = still pending graceMs after the load stopped; p50Ms/p99Ms from a reservoir sample of up to 200,000 latencies',
          workers,
          hello: th.summary(),
          catalog: tc.summary(),
        },
      };
    } finally {
      await ThriftClient.destroy();
      await host.dispose();
    }
  },
};

// --- internal ---

/** A mix of Catalog calls: put/get of a bounded set of ids, a declared NotFound, find, echo, add. */
function catalogCall(catalog, loop, n) {
  const id = (n % 50) + loop * 1000;
  switch (n % 5) {
    case 0:
      return {
        promise: catalog
          .put(
            new Item({
              id: new thrift.Int64(id),
              title: `t${id}`,
              tags: ['a', `x${n % 7}`],
              stock: { s: n % 9 },
            }),
          )
          .then((v) => String(v)),
        expect: String(id),
      };
    case 1:
      // An id never stored: the declared exception is the expected answer.
      return {
        promise: catalog.get(new thrift.Int64(-1 - n)).then(
          () => 'found',
          (err) => (err instanceof NotFound ? 'NotFound' : Promise.reject(err)),
        ),
        expect: 'NotFound',
      };
    case 2:
      return { promise: catalog.find('t', 5).then((items) => items.length <= 5), expect: true };
    case 3:
      return { promise: catalog.echo(Buffer.from(`x${n}`), 0), expect: `x${n}` };
    default:
      return {
        promise: catalog.add(new thrift.Int64(n), new thrift.Int64(1)).then((v) => String(v)),
        expect: String(n + 1),
      };
  }
}
