/**
 * The statistics listener bound beyond loopback: refuses to start without credentials, answers
 * a bare 401 without or with wrong ones, serves with the right ones. It binds 0.0.0.0 port 0
 * but the test only connects to 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, resolveStatsAuth, type StatsServer, StatsServerError } from '../src/monitoring/stats-server.js';
import { get, startCatalogWorkers, startTestStatsServer } from './helpers/stats-host.js';

const ANY = { host: '0.0.0.0', port: 0 };
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('statistics listener beyond loopback', () => {
  let closeWorkers: () => void;
  let stats: StatsServer;
  let base: string;
  let source: Awaited<ReturnType<typeof startCatalogWorkers>>['source'];

  beforeAll(async () => {
    const started = await startCatalogWorkers(1);
    closeWorkers = started.close;
    source = started.source;
    stats = await startTestStatsServer({ listen: ANY, user: 'ops', password: 's3cret pass' }, source);
    base = `http://127.0.0.1:${stats.address.port}`;
  });

  afterAll(async () => {
    await stats?.close();
    closeWorkers?.();
  });

  it('refuses to start without credentials, naming the keys and env vars to set', async () => {
    const err = await startTestStatsServer({ listen: ANY }, source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatsServerError);
    expect((err as StatsServerError).code).toBe('ERR_STATS_AUTH_REQUIRED');
    expect((err as Error).message).toMatch(
      /stats\.user.*stats\.password.*THRIFTHOST_STATS_USER.*THRIFTHOST_STATS_PASSWORD/,
    );
    // A user without a password is no better.
    expect(() => resolveStatsAuth({ listen: ANY, user: 'ops' }, {})).toThrow(StatsServerError);
  });

  it.each(['/metrics', '/api/stats', '/', '/no-such-page'])(
    'GET %s without credentials or with a wrong password: 401 and nothing else',
    async (path) => {
      const snapshotsBefore = source.snapshots;
      for (const headers of [
        {},
        basic('ops', 'wrong'),
        basic('ops', 's3cret pass '),
        basic('nobody', 's3cret pass'),
        { Authorization: 'Bearer x' },
      ]) {
        const res = await get(`${base}${path}`, headers);
        expect(res.status).toBe(401);
        expect(res.body).toBe('');
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
        expect(res.headers['content-type']).toBeUndefined();
      }
      // Nothing was collected from the workers for a refused request.
      expect(source.snapshots).toBe(snapshotsBefore);
    },
  );

  it('serves every page with the right credentials', async () => {
    const auth = basic('ops', 's3cret pass');
    const metrics = await get(`${base}/metrics`, auth);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('# TYPE thrift_server_requests_total counter');
    const api = await get(`${base}/api/stats`, auth);
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).workers).toHaveLength(1);
    const page = await get(`${base}/`, auth);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect((await get(`${base}/nope`, auth)).status).toBe(404);
  });

  it('answers the probes /healthz and /readyz without credentials, with no figures in them', async () => {
    const snapshotsBefore = source.snapshots;
    const health = await get(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
    // No readiness source outside a master: not ready, and nothing about the workers' figures.
    const ready = await get(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(Object.keys(JSON.parse(ready.body)).sort()).toEqual(['notReady', 'services', 'status']);
    expect(source.snapshots).toBe(snapshotsBefore);
    expect((await get(`${base}/metrics`)).status).toBe(401);
  });

  it('takes credentials from the environment over the config file', async () => {
    const env = { THRIFTHOST_STATS_USER: 'envuser', THRIFTHOST_STATS_PASSWORD: 'envpass' };
    expect(resolveStatsAuth({ listen: ANY, user: 'ops', password: 'x' }, env)).toEqual({
      user: 'envuser',
      password: 'envpass',
    });
    const s = await startTestStatsServer({ listen: ANY }, source, { env });
    try {
      const url = `http://127.0.0.1:${s.address.port}/metrics`;
      expect((await get(url)).status).toBe(401);
      expect((await get(url, basic('envuser', 'envpass'))).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('on loopback without credentials it is open', async () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('::')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
    const s = await startTestStatsServer({ listen: { host: '127.0.0.1', port: 0 } }, source);
    try {
      expect((await get(`http://127.0.0.1:${s.address.port}/metrics`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
