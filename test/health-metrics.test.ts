/**
 * Health probes and process/handler metrics through a real host (`rpc start -d`, two workers):
 * `/readyz` says 503 while the workers' handler module is still loading (its top-level code waits
 * for a gate file the test creates) and 200 once they listen; `/healthz` answers throughout; a
 * counter the handler increments in both workers is summed on `/metrics`; every worker reports
 * its event-loop delay, heap, GC time and RSS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupHost,
  freePort,
  makeHost,
  REPO,
  rawClient,
  rpc,
  type RpcResult,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';
import { get, type Metrics, scrape } from './helpers/stats-host.js';

/**
 * A HelloWorld handler whose module blocks at load until `gate` exists, then counts every
 * greeting twice: once in total, once per worker pid (to see that both workers counted), and
 * makes enough garbage per call that the worker collects.
 */
function gatedHandler(gate: string): string {
  const metricsModule = path.join(REPO, 'dist', 'src', 'monitoring', 'custom-metrics.js');
  return `
const fs = require('fs');
const { metrics } = require(${JSON.stringify(metricsModule)});
const nap = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(${JSON.stringify(gate)})) Atomics.wait(nap, 0, 0, 20);
const greetings = metrics.counter({ name: 'hello_greetings_total', help: 'Greetings sent.', labelNames: ['lang'] });
const byWorker = metrics.counter({ name: 'hello_worker_greetings_total', help: 'Greetings per worker.', labelNames: ['worker'] });
const sizes = metrics.histogram({ name: 'hello_name_length', help: 'Length of names.', buckets: [2, 4, 8] });
const ring = new Array(64);
exports.HelloWorldHandler = {
  sayHello(name) {
    greetings.inc({ lang: 'en' });
    byWorker.inc({ worker: process.pid });
    sizes.observe(name.length);
    // Short-lived garbage well past the young generation's size: every call makes the worker
    // collect at least once, so its GC time on /metrics is not zero.
    for (let i = 0; i < 1e6; i++) ring[i & 63] = [i, i, i, i];
    return String(process.pid);
  },
};
`;
}

describe('health probes and metrics of a real host', () => {
  let host: TestHost;
  let base: string;
  let gate: string;
  let start: Promise<RpcResult>;
  let notReadyAnswer: { status: number; body: string };
  let healthWhileStarting: number;

  beforeAll(async () => {
    host = await makeHost({ count: 2 });
    gate = path.join(host.dir, 'gate');
    fs.writeFileSync(path.join(host.dir, 'handler.js'), gatedHandler(gate));
    const statsPort = await freePort();
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    config.stats = { listen: `127.0.0.1:${statsPort}` };
    fs.writeFileSync(host.config, JSON.stringify(config, null, 2));
    base = `http://127.0.0.1:${statsPort}`;

    start = rpc(['start', '-d'], host.dir);
    // The master is up (its probes answer) while both workers are still loading the handler.
    notReadyAnswer = await waitFor(
      () => get(`${base}/readyz`).catch(() => undefined),
      20_000,
      'the master to answer /readyz',
    );
    healthWhileStarting = (await get(`${base}/healthz`)).status;
    fs.writeFileSync(gate, '');
    const started = await start;
    if (started.code !== 0) throw new Error(`rpc start failed: ${started.stderr}`);
    await statusJson(host); // remembers the pids for cleanup
  }, 40_000);

  afterAll(async () => {
    if (host) await rpc(['stop'], host.dir);
    await cleanupHost(host);
  });

  it('/readyz is 503 naming the service while no worker has finished loading', () => {
    expect(notReadyAnswer.status).toBe(503);
    const body = JSON.parse(notReadyAnswer.body);
    expect(body).toMatchObject({ status: 'not ready', notReady: ['HelloWorld'] });
    expect(body.services).toEqual([{ service: 'HelloWorld', listening: 0, expected: 2 }]);
  });

  it('/healthz is 200 from the master, even before the workers listen', async () => {
    expect(healthWhileStarting).toBe(200);
    const res = await get(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body).status).toBe('ok');
  });

  it('/readyz is 200 once every worker listens', async () => {
    const res = await get(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      status: 'ready',
      services: [{ service: 'HelloWorld', listening: 2, expected: 2 }],
    });
  });

  it('a handler counter incremented in both workers is summed on /metrics', async () => {
    // The cluster primary hands connections to the workers in turn: calls on fresh connections
    // until both workers have answered.
    const answeredBy = new Map<string, number>();
    let calls = 0;
    await waitFor(
      async () => {
        const client = rawClient(host.port);
        try {
          const pid = await client.sayHello(`n${calls}`);
          calls++;
          answeredBy.set(pid, (answeredBy.get(pid) ?? 0) + 1);
        } finally {
          client.close();
        }
        return answeredBy.size === 2 && calls >= 6;
      },
      15_000,
      'calls answered by both workers',
    );
    const metrics = await scrape(base);
    expect(metrics.family('hello_greetings_total').type).toBe('COUNTER');
    expect(metrics.value('hello_greetings_total', { service: 'HelloWorld', lang: 'en' })).toBe(calls);
    for (const [pid, n] of answeredBy) {
      expect(metrics.value('hello_worker_greetings_total', { service: 'HelloWorld', worker: pid })).toBe(n);
    }
    const sizes = metrics.histogram('hello_name_length', { service: 'HelloWorld' });
    expect(sizes.count).toBe(calls);
    expect(Object.keys(sizes.buckets)).toEqual(['2', '4', '8', '+Inf']);
    expect(sizes.buckets['2']).toBe(calls < 10 ? calls : 10); // "n0".."n9" are 2 long
  });

  it('each worker reports event-loop delay p99, heap used, GC time and RSS', async () => {
    const pids = (await statusJson(host)).workers.map((w) => String(w.pid)).sort();
    // The calls of the test above made both workers collect garbage; GC entries reach the
    // worker's observer asynchronously, so scrape until both report it.
    const metrics: Metrics = await waitFor(
      async () => {
        const scraped = await scrape(base);
        const gc = scraped.family('thrift_server_worker_gc_pause_seconds_total').metrics;
        return gc.length === 2 && gc.every((m) => Number(m.value) > 0) && scraped;
      },
      10_000,
      'both workers to report GC time',
    );
    const perWorker = (name: string) =>
      metrics
        .family(name)
        .metrics.map((m) => ({ pid: m.labels?.pid, service: m.labels?.service, value: Number(m.value) }))
        .sort((a, b) => String(a.pid).localeCompare(String(b.pid)));
    const delay = perWorker('thrift_server_worker_event_loop_delay_p99_seconds');
    expect(delay.map((d) => d.pid)).toEqual(pids);
    for (const d of delay) {
      expect(d.service).toBe('HelloWorld');
      expect(d.value).toBeGreaterThan(0);
      expect(d.value).toBeLessThan(5);
    }
    for (const h of perWorker('thrift_server_worker_heap_used_bytes')) {
      expect(h.value).toBeGreaterThan(1e6);
      expect(h.value).toBeLessThan(1e9);
    }
    const gc = perWorker('thrift_server_worker_gc_pause_seconds_total');
    expect(gc.map((g) => g.pid)).toEqual(pids);
    expect(metrics.family('thrift_server_worker_gc_pause_seconds_total').type).toBe('COUNTER');
    for (const g of gc) {
      expect(g.value).toBeGreaterThan(0);
      expect(g.value).toBeLessThan(60); // seconds, not milliseconds
    }
    expect(perWorker('thrift_server_worker_resident_memory_bytes').map((r) => r.pid)).toEqual(pids);
  });
});
