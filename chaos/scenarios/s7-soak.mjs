// Scenario 7: soak. Steady, paced load on HelloWorld and Catalog (replies, declared exceptions,
// containers) while the RSS of every worker is sampled (the control socket's status, the same
// figures as `rpc status --json` rssBytes). Reports the least-squares slope in MB/min after a
// warm-up, per worker.
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FIXTURES, GEN_DIR, Host, ROOT, sleep } from '../lib/host.mjs';
import { MB, round, runLoops, slope, ThriftClient, thrift } from '../lib/load.mjs';

const { Item, NotFound } = createRequire(import.meta.url)(path.join(GEN_DIR, 'Catalog/Catalog_types.js'));

/** Largest acceptable RSS growth trend of any worker after warm-up. */
const MAX_SLOPE_MB_PER_MIN = 1;
/**
 * A run shorter than this cannot tell a trend from V8 growing its heap in steps of a few MB, so
 * it is judged by total growth after warm-up instead (no runaway), and says so.
 */
const MIN_MS_FOR_SLOPE = 120_000;
const MAX_SHORT_RUN_GROWTH_MB = 16;

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
        { name: 'HelloWorld', count: 2, handler: path.join(FIXTURES, 'hello-handler.js') },
        {
          name: 'Catalog',
          count: 1,
          transport: 'framed',
          handler: path.join(ROOT, 'services/Catalog/handler.js'),
        },
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
        boundMs: 5500,
        call: (loop, n) => ({ promise: hello.sayHello(`s${loop}-${n}`), expect: `Hello s${loop}-${n}` }),
      });
      const catalogLoad = runLoops({
        label: 'Catalog',
        concurrency: 2,
        ratePerSec: 400,
        boundMs: 5500,
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
      const [th, tc] = [await helloLoad.stop(), await catalogLoad.stop()];
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
      log(
        `slopes after warm-up (MB/min): ${workers.map((w) => `${w.service} ${w.slopeAfterWarmupMBPerMin}`).join(', ')}`,
      );
      const bySlope = durationMs >= MIN_MS_FOR_SLOPE;
      const worstGrowth = Math.max(...workers.map((w) => w.growthAfterWarmupMB));
      const memoryOk = bySlope ? worst <= MAX_SLOPE_MB_PER_MIN : worstGrowth <= MAX_SHORT_RUN_GROWTH_MB;
      const pass = failed === 0 && crashes === 0 && workers.length === 3 && memoryOk;
      return {
        rows: [
          {
            scenario: `7 soak ${round(durationMs / 60_000, 1)} min, 1400 calls/s`,
            calls,
            failed,
            lost: th.wrong + tc.wrong + th.neverSettled + tc.neverSettled,
            crashes,
            recover: `RSS slope ${workers.map((w) => w.slopeAfterWarmupMBPerMin).join(' / ')} MB/min`,
            target: bySlope
              ? `slope <= ${MAX_SLOPE_MB_PER_MIN} MB/min per worker`
              : `too short for a slope: growth after warm-up <= ${MAX_SHORT_RUN_GROWTH_MB} MB per worker`,
            pass,
            note: pass
              ? undefined
              : `worst slope ${worst} MB/min, worst growth ${worstGrowth} MB; errors ${JSON.stringify({ ...th.codes, ...tc.codes })}`,
          },
        ],
        details: {
          durationMs,
          sampleEveryMs: everyMs,
          warmupMs,
          slopeFit: 'least squares of RSS (MB) over time (min), samples after the warm-up',
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
