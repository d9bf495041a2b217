/**
 * The dashboard in a real headless Chromium (Debian's `chromium` driven by playwright-core):
 * six minutes of known calls (a fake clock moves the history forward), then the page must show
 * the right numbers in its tables and draw one chart point per minute with the right values.
 * The screenshot goes to test-artifacts/dashboard.png (and docs/dashboard.png with
 * UPDATE_DOCS_SCREENSHOT=1).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatsReporter, type StatsReporter } from '../clients/stats-reporter.js';
import { ThriftClient } from '../clients/thrift-client.js';
import type { StatsServer } from '../src/monitoring/stats-server.js';
import { ROOT, waitFor } from './helpers/in-process-server.js';
import { get, makeCalls, scrape, startCatalogWorkers, startTestStatsServer } from './helpers/stats-host.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const MINUTES = 20;
/** Calls made in minute `m` (0-based) on worker A / B, and calls to the dead HelloWorld address. */
const plan = (m: number) => ({
  a: { add: 10 + ((m * 7) % 13), missing: m % 3 },
  b: { add: 6 + ((m * 5) % 11), sync: m === 4 || m === 13 ? 3 : 0 },
  dead: 1 + (m % 2),
});

describe('dashboard in headless Chromium', () => {
  let closeWorkers: () => void;
  let stats: StatsServer;
  let reporter: StatsReporter;
  let context: BrowserContext | undefined;
  let profile: string;
  let base: string;
  let deadAddress: string;
  let workerPorts: number[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH); the dashboard test needs a real browser`,
      );
    }
    const started = await startCatalogWorkers(2);
    closeWorkers = started.close;
    workerPorts = started.workers.map((w) => w.port);
    let clock = Math.floor(Date.now() / 60_000) * 60_000 - MINUTES * 60_000 + 1_000;
    stats = await startTestStatsServer(
      { listen: { host: '127.0.0.1', port: 0 }, udp: { host: '127.0.0.1', port: 0 } },
      started.source,
      { now: () => clock, sampleIntervalMs: 3_600_000 },
    );
    base = `http://127.0.0.1:${stats.address.port}`;
    reporter = createStatsReporter(`udp://127.0.0.1:${stats.udpAddress!.port}`);
    deadAddress = `127.0.0.1:${await closedPort()}`;
    ThriftClient.config(
      {
        Catalog: {
          addresses: [`127.0.0.1:${started.workers[0]!.port}`],
          serviceDir: `${ROOT}/gen`,
          shareState: false,
        },
        HelloWorld: { addresses: [deadAddress], serviceDir: `${ROOT}/gen`, shareState: false, retries: 0 },
      },
      { onCallDone: reporter.observe },
    );
    const catalog = ThriftClient.instance('Catalog');
    const hello = ThriftClient.instance('HelloWorld');
    let reports = 0;
    for (let m = 0; m < MINUTES; m++) {
      const p = plan(m);
      await makeCalls(started.workers[0]!.port, p.a);
      await makeCalls(started.workers[1]!.port, p.b);
      for (let i = 0; i < 2; i++) await catalog.ping!();
      for (let i = 0; i < p.dead; i++) await hello.sayHello!('x').catch(() => {});
      reports += 2 + p.dead;
      await waitFor(
        async () => (await scrape(base)).sum('thrift_client_requests_total') === reports,
        5000,
        `client reports of minute ${m}`,
      );
      clock += 60_000;
    }
    await get(`${base}/api/stats`); // one sample in the last minute, with nothing new
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1400, height: 1000 },
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    await reporter?.close();
    await stats?.close();
    closeWorkers?.();
  });

  it('renders the tables with the right numbers and draws the charts', async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-rendered]', { timeout: 10_000 });

    const totals = { add: 0, missing: 0, sync: 0, dead: 0 };
    const perMinute: number[] = [];
    for (let m = 0; m < MINUTES; m++) {
      const p = plan(m);
      totals.add += p.a.add + p.b.add;
      totals.missing += p.a.missing;
      totals.sync += p.b.sync;
      totals.dead += p.dead;
      perMinute.push(p.a.add + p.a.missing + p.b.add + p.b.sync + 2);
    }
    const cell = (table: string, key: string, col: string) =>
      page.locator(`#${table} tr[data-key="${key}"] td[data-col="${col}"]`).innerText();
    expect(await cell('methods', 'Catalog.add', 'calls')).toBe(String(totals.add));
    expect(await cell('methods', 'Catalog.add', 'success')).toBe('100%');
    expect(await cell('methods', 'Catalog.get', 'calls')).toBe(String(totals.missing));
    expect(await cell('methods', 'Catalog.get', 'failures')).toBe(`NotFound ${totals.missing}`);
    expect(await cell('methods', 'Catalog.fail', 'failures')).toBe(`INTERNAL_ERROR ${totals.sync}`);
    expect(await cell('methods', 'Catalog.ping', 'calls')).toBe(String(2 * MINUTES));
    expect(await cell('client-methods', 'Catalog.ping', 'calls')).toBe(String(2 * MINUTES));
    expect(await cell('client-methods', 'HelloWorld.sayHello', 'success')).toBe('0.0%');
    const deadRow = page.locator('#client-calls tr', { hasText: deadAddress });
    // Every attempt by address (no retries here: one attempt per call).
    expect(await deadRow.locator('td[data-col="attempts"]').innerText()).toBe(String(totals.dead));
    expect(await page.locator('#workers tbody tr').count()).toBe(2);
    expect(await page.locator('#workers td[data-col="state"]').allInnerTexts()).toEqual([
      'listening',
      'listening',
    ]);
    const kinds = await page.locator('#failures td[data-col="kind"]').allInnerTexts();
    expect(kinds).toHaveLength(20);
    expect(kinds).toContain('NotFound');
    expect(kinds).toContain('ERR_CONNECT_FAILED');

    // One point per minute, at the right height: read back the values the circles carry.
    const values = async (chart: string, series: string) =>
      (
        await page
          .locator(`#${chart} circle[data-series="${series}"]`)
          .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))))
      ).slice(0, MINUTES);
    expect(await values('chart-calls', 'server')).toEqual(perMinute);
    expect(await values('chart-calls', 'client')).toEqual(perMinute.map((_, m) => 2 + plan(m).dead));
    const success = await values('chart-success', 'server');
    expect(success[4]).toBeCloseTo((100 * (perMinute[4]! - 3 - plan(4).a.missing)) / perMinute[4]!, 6);
    expect(success[0]).toBe(100);
    expect((await values('chart-latency', 'p99')).length).toBe(MINUTES);
    for (const id of ['chart-calls', 'chart-latency', 'chart-success']) {
      expect(await page.locator(`#${id} polyline`).count()).toBeGreaterThan(0);
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box!.width).toBeGreaterThan(200);
    }

    // Choosing a method redraws the charts for it alone.
    await page.selectOption('#method', 'Catalog.get');
    expect(await values('chart-calls', 'server')).toEqual(perMinute.map((_, m) => plan(m).a.missing));

    await page.selectOption('#method', '*');
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
      await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard.png'), fullPage: true });
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('refreshes by itself', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-rendered]');
    const calls = () => page.locator('#methods tr[data-key="Catalog.add"] td[data-col="calls"]').innerText();
    const before = Number(await calls());
    await makeCalls(workerPorts[0]!, { add: 3 });
    await page.waitForFunction(
      () => Number((globalThis as any).document.body.getAttribute('data-rendered')) >= 2,
      undefined,
      {
        timeout: 15_000,
      },
    );
    expect(Number(await calls())).toBe(before + 3);
  }, 30_000);
});

/** A port on 127.0.0.1 nothing listens on (bound, read back, closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
