/**
 * Client call reports over UDP: the real ThriftClient with the stats reporter as its observer
 * calls a live listener and a dead address; the reports arrive at the host's receiver and show
 * in /metrics and /api/stats. Malformed datagrams are counted and ignored. The wire format
 * splits big batches into datagrams that fit and decodes to exactly what was encoded.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import thrift from 'thrift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallObserver } from '../clients/call-report.js';
import { createStatsReporter, type StatsReporter } from '../clients/stats-reporter.js';
import { ThriftClient } from '../clients/thrift-client.js';
import {
  decodeReportBatch,
  decodeReports,
  encodeReports,
  MAX_REPORT_DATAGRAM_BYTES,
  type ReportEntry,
} from '../src/common/stats-wire.js';
import { createTestServer } from '../src/worker/test-server.js';
import type { StatsView } from '../src/monitoring/stats-collector.js';
import type { StatsServer } from '../src/monitoring/stats-server.js';
import { ROOT, waitFor } from './helpers/in-process-server.js';
import { get, scrape, startCatalogWorkers, startTestStatsServer } from './helpers/stats-host.js';

describe('client reports over UDP', () => {
  let closeWorkers: () => void;
  let stats: StatsServer;
  let base: string;
  let reporter: StatsReporter;
  let livePort: number;
  let deadAddress: string;

  beforeAll(async () => {
    const started = await startCatalogWorkers(1);
    closeWorkers = started.close;
    livePort = started.workers[0]!.port;
    stats = await startTestStatsServer(
      { listen: { host: '127.0.0.1', port: 0 }, udp: { host: '127.0.0.1', port: 0 } },
      started.source,
    );
    base = `http://127.0.0.1:${stats.address.port}`;
    reporter = createStatsReporter(`udp://127.0.0.1:${stats.udpAddress!.port}`);
    deadAddress = `127.0.0.1:${await closedPort()}`;
  });

  afterAll(async () => {
    await reporter?.close();
    await stats?.close();
    closeWorkers?.();
  });

  it('the reporter plugs into the client observer', () => {
    // Compile-time check that the two sides agree on the report's shape.
    const observer: CallObserver = reporter.observe;
    expect(typeof observer).toBe('function');
  });

  it('reports of a live and a dead server arrive and are counted by address and result', async () => {
    ThriftClient.config(
      {
        Catalog: { addresses: [`127.0.0.1:${livePort}`], serviceDir: `${ROOT}/gen`, shareState: false },
        HelloWorld: { addresses: [deadAddress], serviceDir: `${ROOT}/gen`, shareState: false, retries: 0 },
      },
      { onCallDone: reporter.observe },
    );
    const catalog = ThriftClient.instance('Catalog');
    const hello = ThriftClient.instance('HelloWorld');
    for (let i = 0; i < 6; i++) await catalog.add(thrift.fromBigInt(1n), thrift.fromBigInt(2n));
    for (let i = 0; i < 2; i++) await expect(catalog.get(thrift.fromBigInt(99n))).rejects.toMatchObject({ name: 'NotFound' });
    const refused: string[] = [];
    for (let i = 0; i < 3; i++)
      refused.push(
        await hello.sayHello!('x').then(
          () => 'ok',
          (e: { code?: string }) => String(e.code),
        ),
      );
    expect(new Set(refused).size).toBe(1);
    const code = refused[0]!;
    expect(code).toMatch(/^ERR_/);

    await waitFor(
      async () => (await scrape(base)).sum('thrift_client_requests_total') === 11,
      5000,
      'all 11 reports',
    );
    const m = await scrape(base);
    const live = `127.0.0.1:${livePort}`;
    expect(
      m.value('thrift_client_requests_total', {
        service: 'Catalog',
        method: 'add',
        address: live,
        result: 'success',
      }),
    ).toBe(6);
    expect(
      m.value('thrift_client_requests_total', {
        service: 'Catalog',
        method: 'get',
        address: live,
        result: 'NotFound',
      }),
    ).toBe(2);
    // The dead server shows up on the caller side only.
    expect(
      m.value('thrift_client_requests_total', {
        service: 'HelloWorld',
        method: 'sayHello',
        address: deadAddress,
        result: code,
      }),
    ).toBe(3);
    expect(m.text).not.toContain('thrift_server_requests_total{service="HelloWorld"');
    expect(
      m.histogram('thrift_client_request_duration_seconds', { service: 'Catalog', method: 'add' }).count,
    ).toBe(6);
    expect(m.value('thrift_stats_udp_datagrams_total', { result: 'rejected' })).toBe(0);
    expect(reporter.counts).toMatchObject({ reports: 11, dropped: 0 });

    const view = JSON.parse((await get(`${base}/api/stats`)).body) as StatsView;
    expect(view.client!.methods.find((r) => r.key === 'HelloWorld.sayHello')).toMatchObject({
      calls: 3,
      successes: 0,
      successRate: 0,
    });
    expect(
      view.failures.filter((f) => f.side === 'client' && f.where === deadAddress).length,
    ).toBeGreaterThan(0);
    expect(view.history.client['*']!.at(-1)!.calls).toBe(11);
  });

  it('what failover did arrives too: every attempt by address, retries, budget refusals, backup requests', async () => {
    let n = 0;
    const flaky = await createTestServer({
      service: 'HelloWorld',
      genDir: `${ROOT}/gen`,
      handler: {
        sayHello(name: string) {
          if (n++ % 2 === 1) throw new Error('broken dependency');
          return `Hello ${name}`;
        },
      },
    });
    const good = await createTestServer({
      service: 'HelloWorld',
      genDir: `${ROOT}/gen`,
      handler: { sayHello: (name: string) => `Hello ${name}` },
    });
    try {
      ThriftClient.config(
        {
          HelloWorld: {
            addresses: [flaky.address, good.address],
            serviceDir: `${ROOT}/gen`,
            shareState: false,
            detectRate: 0,
            balancer: 'random',
            idempotent: ['sayHello'],
            evictAfterFailures: 0,
            evictBelowSuccessRate: 0,
          },
        },
        // random 0: every first attempt goes to the flaky host.
        { onCallDone: reporter.observe, random: () => 0 },
      );
      const hello = ThriftClient.instance('HelloWorld');
      for (let i = 0; i < 6; i++) expect(await hello.sayHello!(`x${i}`)).toBe(`Hello x${i}`);
      const attempts = (m: Awaited<ReturnType<typeof scrape>>, address: string, result: string) =>
        m.value('thrift_client_attempts_total', { service: 'HelloWorld', method: 'sayHello', address, result });
      await waitFor(
        async () => attempts(await scrape(base), flaky.address, 'TApplicationException:6') === 3,
        5000,
        'the failed attempts to be reported',
      );
      const m = await scrape(base);
      expect(attempts(m, flaky.address, 'success')).toBe(3);
      expect(attempts(m, good.address, 'success')).toBe(3);
      // The calls themselves all succeeded: the flaky host's failures show only as attempts.
      expect(
        m.value('thrift_client_requests_total', { service: 'HelloWorld', method: 'sayHello', address: flaky.address, result: 'TApplicationException:6' }),
      ).toBeUndefined();
      expect(m.value('thrift_client_retries_total', { service: 'HelloWorld', method: 'sayHello' })).toBe(3);
      expect(m.value('thrift_client_retry_budget_exhausted_total', { service: 'HelloWorld', method: 'sayHello' })).toBe(0);
      const view = JSON.parse((await get(`${base}/api/stats`)).body) as StatsView;
      expect(view.client!.failover['HelloWorld.sayHello']).toEqual({
        retries: 3,
        budgetExhausted: 0,
        backupsSent: 0,
        backupsWon: 0,
      });
      expect(view.client!.attempts).toContainEqual({
        service: 'HelloWorld',
        method: 'sayHello',
        address: flaky.address,
        result: 'TApplicationException:6',
        count: 3,
      });
    } finally {
      await ThriftClient.reset();
      await flaky.close();
      await good.close();
    }
  });

  it('malformed datagrams are counted and change nothing else', async () => {
    const before = await scrape(base);
    const total = before.sum('thrift_client_requests_total');
    const socket = dgram.createSocket('udp4');
    const bad = [
      Buffer.from('not json'),
      Buffer.from('{"v":2,"e":[]}'),
      Buffer.from(JSON.stringify({ v: 1, e: [['Catalog', 'add', '127.0.0.1:1', '', [-1]]] })),
      Buffer.from(JSON.stringify({ v: 1, e: [['Cat"alog', 'add', '', '', [1]]] })),
      Buffer.from(JSON.stringify({ v: 1, e: [['Catalog', 'add', '', '', 'x']] })),
    ];
    for (const d of bad)
      await new Promise<void>((r) => socket.send(d, stats.udpAddress!.port, '127.0.0.1', () => r()));
    socket.close();
    await waitFor(
      async () =>
        (await scrape(base)).value('thrift_stats_udp_datagrams_total', { result: 'rejected' }) === bad.length,
      5000,
      'bad datagrams counted',
    );
    expect((await scrape(base)).sum('thrift_client_requests_total')).toBe(total);
  });
});

describe('report wire format', () => {
  it('splits a big batch into datagrams that fit and decodes to the same calls', () => {
    const entries: ReportEntry[] = [
      {
        service: 'Catalog',
        method: 'add',
        address: '127.0.0.1:9090',
        code: '',
        latenciesMs: Array.from({ length: 1000 }, (_, i) => i / 7),
      },
      { service: 'Catalog', method: 'get', address: '[::1]:9090', code: 'NotFound', latenciesMs: [1.234, 5] },
      { service: 'HelloWorld', method: 'sayHello', address: '', code: 'ERR_NO_ADDRESS', latenciesMs: [0] },
    ];
    const datagrams = encodeReports(entries);
    expect(datagrams.length).toBeGreaterThan(3);
    const counts = new Map<string, number>();
    for (const d of datagrams) {
      expect(d.length).toBeLessThanOrEqual(MAX_REPORT_DATAGRAM_BYTES);
      const decoded = decodeReports(d);
      if (typeof decoded === 'string') throw new Error(decoded);
      for (const e of decoded) {
        const k = `${e.service}.${e.method} ${e.address} ${e.code}`;
        counts.set(k, (counts.get(k) ?? 0) + e.latenciesMs.length);
      }
    }
    expect(Object.fromEntries(counts)).toEqual({
      'Catalog.add 127.0.0.1:9090 ': 1000,
      'Catalog.get [::1]:9090 NotFound': 2,
      'HelloWorld.sayHello  ERR_NO_ADDRESS': 1,
    });
  });

  it('carries attempts and failover rows beside the entries; a receiver reading only v and e sees the same entries', () => {
    const entries: ReportEntry[] = [
      { service: 'HelloWorld', method: 'sayHello', address: '127.0.0.1:2', code: '', latenciesMs: [1, 2] },
    ];
    const attempts = Array.from({ length: 60 }, (_, i) => ({
      service: 'HelloWorld',
      method: 'sayHello',
      address: `127.0.0.1:${1000 + i}`,
      code: i % 2 ? 'CANCELLED' : 'TApplicationException:6',
      count: i + 1,
    }));
    const failover = [{ service: 'HelloWorld', method: 'sayHello', retries: 30, budgetExhausted: 2, backupsSent: 30, backupsWon: 29 }];
    const datagrams = encodeReports(entries, MAX_REPORT_DATAGRAM_BYTES, { attempts, failover });
    expect(datagrams.length).toBeGreaterThan(1);
    const got = { entries: [] as ReportEntry[], attempts: [] as unknown[], failover: [] as unknown[] };
    for (const d of datagrams) {
      expect(d.length).toBeLessThanOrEqual(MAX_REPORT_DATAGRAM_BYTES);
      expect(Object.keys(JSON.parse(d.toString())).every((k) => ['v', 'e', 't', 'x'].includes(k))).toBe(true);
      const batch = decodeReportBatch(d);
      if (typeof batch === 'string') throw new Error(batch);
      got.entries.push(...batch.entries);
      got.attempts.push(...batch.attempts);
      got.failover.push(...batch.failover);
      // The entries-only reading (what a host that predates "t" and "x" does) is unchanged.
      expect(decodeReports(d)).toEqual(batch.entries);
    }
    expect(got).toEqual({ entries, attempts, failover });
    // A datagram of a client that predates them has neither.
    expect(decodeReportBatch(Buffer.from('{"v":1,"e":[]}'))).toEqual({ entries: [], attempts: [], failover: [] });
    expect(decodeReportBatch(Buffer.from('{"v":1,"e":[],"t":[["A","b","","",-1]]}'))).toBe('bad attempt');
    expect(decodeReportBatch(Buffer.from('{"v":1,"e":[],"x":[["A","b",1,2,3]]}'))).toBe('bad failover row');
  });

  it('rejects what it cannot trust', () => {
    expect(decodeReports(Buffer.alloc(70_000, 0x20))).toBe('too large');
    expect(typeof decodeReports(Buffer.from('[]'))).toBe('string');
    const many = { v: 1, e: Array.from({ length: 513 }, () => ['A', 'b', '', '', [1]]) };
    expect(decodeReports(Buffer.from(JSON.stringify(many)))).toBe('bad entry list');
    const long = { v: 1, e: [['A'.repeat(129), 'b', '', '', [1]]] };
    expect(decodeReports(Buffer.from(JSON.stringify(long)))).toBe('bad service or method');
  });

  it('the reporter never throws, even for nonsense reports, and groups a tick into one datagram', async () => {
    const receiver = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    receiver.on('message', (d) => got.push(d));
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
    const r = createStatsReporter(`127.0.0.1:${receiver.address().port}`);
    try {
      for (let i = 0; i < 20; i++) {
        r.observe({
          service: 'Catalog',
          method: 'add',
          ok: true,
          errorCode: undefined,
          latencyMs: i,
          address: '127.0.0.1:1',
        });
      }
      r.observe({
        service: 'Catalog',
        method: 'add',
        ok: false,
        errorCode: undefined,
        latencyMs: Number.NaN,
        address: undefined,
      });
      expect(() => r.observe(null as never)).not.toThrow();
      await waitFor(() => got.length > 0, 5000, 'a datagram');
      await new Promise((res) => setTimeout(res, 50));
      expect(got).toHaveLength(1);
      const decoded = decodeReports(got[0]!);
      if (typeof decoded === 'string') throw new Error(decoded);
      expect(decoded.map((e) => [e.code, e.latenciesMs.length])).toEqual([
        ['', 20],
        ['ERROR', 1],
      ]);
      expect(r.counts).toMatchObject({ reports: 21, datagrams: 1 });
    } finally {
      await r.close();
      receiver.close();
    }
  });
});

/** A port on 127.0.0.1 nothing listens on (bound, read back, closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
