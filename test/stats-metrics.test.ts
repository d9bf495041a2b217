/**
 * /metrics and /api/stats count exactly the calls made: successes, declared exceptions and
 * internal errors spread over two workers, read back through a real Prometheus text parser.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS } from '../src/host/ipc.js';
import type { StatsView } from '../src/monitoring/stats-collector.js';
import type { StatsServer } from '../src/monitoring/stats-server.js';
import { waitFor } from './helpers/in-process-server.js';
import {
  type FakeWorker,
  get,
  type Metrics,
  makeCalls,
  scrape,
  startCatalogWorkers,
  startTestStatsServer,
} from './helpers/stats-host.js';

describe('statistics of two workers', () => {
  let closeWorkers: () => void;
  let stats: StatsServer;
  let base: string;
  let metrics: Metrics;
  let workers: FakeWorker[];
  const seenA: Record<string, number> = {};
  const seenB: Record<string, number> = {};

  beforeAll(async () => {
    const started = await startCatalogWorkers(2);
    closeWorkers = started.close;
    workers = started.workers;
    const { source } = started;
    stats = await startTestStatsServer({ listen: { host: '127.0.0.1', port: 0 } }, source);
    base = `http://127.0.0.1:${stats.address.port}`;
    const [a, b] = workers;
    Object.assign(seenA, await makeCalls(a!.port, { add: 5, invalid: 3, missing: 2, sync: 1 }));
    Object.assign(
      seenB,
      await makeCalls(b!.port, { add: 4, ping: 1, invalid: 1, sync: 2, async: 1, undeclared: 1 }),
    );
    metrics = await scrape(base);
  });

  afterAll(async () => {
    await stats?.close();
    closeWorkers?.();
  });

  it('the calls ended as planned, seen from the caller', () => {
    expect(seenA).toEqual({ ok: 5, InvalidItem: 3, NotFound: 2, TApplicationException: 1 });
    expect(seenB).toEqual({ ok: 5, InvalidItem: 1, TApplicationException: 4 });
  });

  it('thrift_server_requests_total has exactly those counts by service, method and result', () => {
    const count = (method: string, result: string) =>
      metrics.value('thrift_server_requests_total', { service: 'Catalog', method, result });
    expect(metrics.family('thrift_server_requests_total').type).toBe('COUNTER');
    expect(count('add', 'success')).toBe(9);
    expect(count('ping', 'success')).toBe(1);
    expect(count('put', 'InvalidItem')).toBe(4);
    expect(count('put', 'success')).toBe(0);
    expect(count('fail', 'INTERNAL_ERROR')).toBe(5);
    expect(count('fail', 'success')).toBe(0);
    expect(count('get', 'NotFound')).toBe(2);
    expect(count('get', 'success')).toBe(0);
    expect(metrics.sum('thrift_server_requests_total')).toBe(21);
  });

  it('the duration histogram counts every call once, in cumulative buckets in seconds', () => {
    const h = metrics.histogram('thrift_server_request_duration_seconds', {
      service: 'Catalog',
      method: 'fail',
    });
    expect(metrics.family('thrift_server_request_duration_seconds').type).toBe('HISTOGRAM');
    expect(h.count).toBe(5);
    expect(h.buckets['+Inf']).toBe(5);
    expect(Object.keys(h.buckets)).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect(h.buckets['10']).toBe(5); // every call took under 10 s
    const les = Object.keys(h.buckets)
      .filter((le) => le !== '+Inf')
      .map(Number)
      .sort((x, y) => x - y);
    expect(les).toEqual(LATENCY_BUCKETS_MS.map((ms) => ms / 1000));
    let previous = 0;
    for (const le of les) {
      const n = h.buckets[String(le)]!;
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
    expect(h.sum).toBeGreaterThan(0);
    expect(h.sum).toBeLessThan(5 * 10);
    const add = metrics.histogram('thrift_server_request_duration_seconds', {
      service: 'Catalog',
      method: 'add',
    });
    expect(add.count).toBe(9);
  });

  it('workers, restarts and memory are exposed', () => {
    expect(metrics.value('thrift_server_workers', { service: 'Catalog', state: 'listening' })).toBe(2);
    expect(metrics.value('thrift_server_worker_restarts_total', { service: 'Catalog' })).toBe(0);
    expect(metrics.family('thrift_server_worker_resident_memory_bytes').metrics).toHaveLength(2);
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(metrics.value('thrift_server_requests_in_flight', { service: 'Catalog', method: 'add' })).toBe(0);
  });

  it('thrift_server_open_connections follows the connections a test opens and closes', async () => {
    // Other test files' clients may reach these loopback listeners too (a stale port probed
    // again), so the gauge is compared with what the listeners hold, and this test's own
    // connections are told apart by their ports.
    const held = () => workers.flatMap((w) => [...(w.server as unknown as { connections: Set<{ socket: net.Socket }> }).connections]);
    const ours = new Set<number>();
    const seen: string[] = [];
    const until = async (ownOpen: number, what: string) => {
      await waitFor(
        async () => {
          const gauge = (await scrape(base)).value('thrift_server_open_connections', { service: 'Catalog' });
          const all = held();
          const own = all.filter((c) => ours.has(c.socket.remotePort!)).length;
          seen.push(`${gauge}/${all.length}/${own}`);
          return gauge === all.length && own === ownOpen;
        },
        10_000,
        what,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (gauge/held/ours: ${[...new Set(seen)].join(', ')})`);
      });
    };
    // One idle connection to each worker (no call: the request counts checked below stay as they are).
    const sockets = await Promise.all(
      workers.map(
        (w) =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(w.port, '127.0.0.1', () => resolve(s)).on('error', reject);
          }),
      ),
    );
    for (const s of sockets) ours.add(s.localPort!);
    try {
      await until(2, 'the gauge to count this test\'s two connections');
    } finally {
      for (const s of sockets) s.destroy();
    }
    await until(0, 'the gauge to drop them');
  });

  it('/api/stats agrees, and lists the failures with their kind', async () => {
    const res = await get(`${base}/api/stats`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const view = JSON.parse(res.body) as StatsView;
    const fail = view.methods.find((m) => m.key === 'Catalog.fail')!;
    expect(fail).toMatchObject({ calls: 5, successes: 0, failures: { INTERNAL_ERROR: 5 }, successRate: 0 });
    const put = view.methods.find((m) => m.key === 'Catalog.put')!;
    expect(put).toMatchObject({ calls: 4, successes: 0, failures: { InvalidItem: 4 } });
    expect(view.methods.find((m) => m.key === 'Catalog.add')).toMatchObject({
      calls: 9,
      successes: 9,
      successRate: 1,
    });
    expect(view.workers.map((w) => w.state)).toEqual(['listening', 'listening']);
    expect(view.workers.reduce((n, w) => n + (w.requests ?? 0), 0)).toBe(21);
    const kinds = view.failures.map((f) => `${f.method} ${f.kind}`);
    expect(kinds.filter((k) => k === 'Catalog.fail INTERNAL_ERROR')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'Catalog.put InvalidItem')).toHaveLength(4);
    expect(kinds.filter((k) => k === 'Catalog.get NotFound')).toHaveLength(2);
    expect(view.failures.find((f) => f.kind === 'NotFound')!.message).toBe('no item 424242');
    // The history has this minute's point with every call in it.
    const all = view.history.server['*']!;
    expect(all.at(-1)).toMatchObject({ calls: 21, failures: 11 });
    expect(view.client).toBeNull();
  });

  it('a second scrape counts nothing twice', async () => {
    const again = await scrape(base);
    expect(
      again.value('thrift_server_requests_total', { service: 'Catalog', method: 'add', result: 'success' }),
    ).toBe(9);
    expect(again.sum('thrift_server_requests_total')).toBe(21);
  });
});
