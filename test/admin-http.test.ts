/**
 * Remote admin on the statistics listener of a real detached host (`rpc start -d`, 2 workers):
 * the token is required on loopback too, status / restart of one worker by pid / reload / stop
 * work over HTTP on 127.0.0.1, every request is logged with who, what and the result. `rpc
 * status` shows calls/s. Then the admin routes of an in-process listener bound beyond loopback.
 */
import fs from 'node:fs';
import http from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminActions, handleAdmin } from '../src/monitoring/admin-http.js';
import { isProcessAlive } from '../src/master/pid-file.js';
import type { StatsServer } from '../src/monitoring/stats-server.js';
import type { HostStatus } from '../src/master/supervisor.js';
import {
  alivePids,
  callLoop,
  cleanupHost,
  freePort,
  makeHost,
  rpc,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';
import { basic, bearer, request } from './helpers/http-request.js';
import { startCatalogWorkers, startTestStatsServer } from './helpers/stats-host.js';

const TOKEN = 'admin-token-0123456789abcdef';

describe('remote admin of a running host', () => {
  let host: TestHost;
  let base: string;

  beforeAll(async () => {
    host = await makeHost({ count: 2 });
    const statsPort = await freePort();
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    config.stats = { listen: `127.0.0.1:${statsPort}`, admin: { token: TOKEN } };
    fs.writeFileSync(host.config, JSON.stringify(config, null, 2));
    const started = await rpc(['start', '-d'], host.dir);
    expect(started.code, started.stderr).toBe(0);
    await statusJson(host);
    base = `http://127.0.0.1:${statsPort}`;
  });

  afterAll(() => cleanupHost(host));

  it('answers 401 without the token or with a wrong one, even on loopback', async () => {
    for (const headers of [
      {},
      bearer('wrong-token-0123456789abcdef'),
      bearer(`${TOKEN}x`),
      basic('admin', TOKEN),
    ]) {
      for (const [method, path] of [
        ['GET', '/admin/status'],
        ['POST', '/admin/stop'],
        ['POST', '/admin/reload'],
      ] as const) {
        const res = await request(method, `${base}${path}`, headers);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body).toBe('');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm=/);
      }
    }
    // Nothing happened: the same workers serve.
    expect((await statusJson(host)).master.generation).toBe(1);
  });

  it('serves status, restarts one worker by pid without failing calls, reloads', async () => {
    const status = await request('GET', `${base}/admin/status`, bearer(TOKEN));
    expect(status.status).toBe(200);
    const before = status.json.result as HostStatus;
    expect(before.workers.map((w) => w.state)).toEqual(['listening', 'listening']);
    expect(before.rates).toBeDefined();
    const [victim, other] = before.workers.map((w) => w.pid) as [number, number];

    const loop = callLoop(host.port, 2);
    await waitFor(async () => (await statusJson(host)).workers.some((w) => w.requests > 20), 10_000, 'calls');
    const restarted = await request('POST', `${base}/admin/workers/${victim}/restart`, bearer(TOKEN));
    expect(restarted.status, restarted.body).toBe(200);
    expect(restarted.json.result).toMatchObject({ service: 'HelloWorld', oldPid: victim });
    const fresh = restarted.json.result.newPid as number;
    host.pids.add(fresh);
    expect(isProcessAlive(victim)).toBe(false);

    // calls/s while the loop runs, in text and JSON.
    const text = await rpc(['status'], host.dir);
    expect(text.stdout).toMatch(/METHOD .*CALLS\/S/);
    expect(text.stdout).toMatch(/\(calls\/s over the last \d+\.\d s\)/);
    const json = JSON.parse((await rpc(['status', '--json'], host.dir)).stdout) as HostStatus;
    expect(json.rates?.windowMs).toBeGreaterThan(0);
    expect(json.rates?.callsPerSec['HelloWorld.sayHello']).toBeGreaterThan(0);
    const result = await loop.stop();
    expect(result.failed, result.errors.join('; ')).toBe(0);
    expect(result.ok).toBeGreaterThan(0);

    const after = await statusJson(host);
    expect(after.workers.map((w) => w.pid).sort()).toEqual([fresh, other].sort());

    const missing = await request('POST', `${base}/admin/workers/${victim}/restart`, bearer(TOKEN));
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('ERR_NO_SUCH_WORKER');
    expect((await request('GET', `${base}/admin/reload`, bearer(TOKEN))).status).toBe(405);
    expect((await request('POST', `${base}/admin/nothing`, bearer(TOKEN))).status).toBe(404);

    const reloaded = await request('POST', `${base}/admin/reload`, bearer(TOKEN));
    expect(reloaded.status).toBe(200);
    const replaced = reloaded.json.result.services[0].replaced as { oldPid: number; newPid: number }[];
    expect(replaced.map((r) => r.oldPid).sort()).toEqual([fresh, other].sort());
    for (const r of replaced) host.pids.add(r.newPid);
  });

  it('stops the host, and every admin request is in the log with who, what and the result', async () => {
    const pids = [...alivePids(host.pids), ...alivePids(host.masters)];
    const stopped = await request('POST', `${base}/admin/stop`, bearer(TOKEN));
    expect(stopped.status).toBe(202);
    expect(stopped.json.result.pids.sort()).toEqual(pids.sort());
    await waitFor(() => alivePids(pids).length === 0, 20_000, 'every process to exit');
    expect(fs.existsSync(host.pidFile)).toBe(false);

    const lines = fs
      .readFileSync(host.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"admin":{'))
      .map((l) => JSON.parse(l).admin as { who: string; what: string; status: number; result: string });
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(l.who).toMatch(/^(::ffff:)?127\.0\.0\.1:\d+$/);
    const find = (what: string, status: number) =>
      lines.filter((l) => l.what === what && l.status === status);
    expect(find('GET /admin/status', 401)).toHaveLength(4);
    expect(find('POST /admin/stop', 401)).toHaveLength(4);
    expect(find('GET /admin/status', 200)).toHaveLength(1);
    expect(lines.some((l) => /^POST \/admin\/workers\/\d+\/restart$/.test(l.what) && l.status === 200)).toBe(
      true,
    );
    expect(lines.find((l) => l.status === 404 && l.what.endsWith('/restart'))?.result).toContain(
      'ERR_NO_SUCH_WORKER',
    );
    expect(find('POST /admin/reload', 200)[0]?.result).toMatch(/^reloaded in \d+ ms/);
    expect(find('POST /admin/stop', 202)[0]?.result).toMatch(/^stopping \(pids /);
  });
});

describe('admin routes beyond loopback', () => {
  let closeWorkers: () => void;
  let stats: StatsServer;
  const calls: string[] = [];
  const actions: AdminActions = {
    status: async () => {
      calls.push('status');
      return { master: { pid: 1 }, workers: [] } as unknown as HostStatus;
    },
    reload: async () => {
      calls.push('reload');
      return { durationMs: 1, services: [] };
    },
    stopPids: () => [1],
    stop: async () => {
      calls.push('stop');
    },
    restartWorker: async (pid) => {
      calls.push(`restart ${pid}`);
      return { service: 'S', oldPid: pid, newPid: pid + 1 };
    },
  };

  beforeAll(async () => {
    const started = await startCatalogWorkers(1);
    closeWorkers = started.close;
    stats = await startTestStatsServer(
      {
        listen: { host: '0.0.0.0', port: 0 },
        user: 'ops',
        password: 'stats pass',
        admin: { token: TOKEN, allowRemote: true },
      },
      started.source,
      { admin: actions },
    );
  });

  afterAll(async () => {
    await stats?.close();
    closeWorkers?.();
  });

  it('bound to 0.0.0.0: refuses admin requests without the admin token, the stats password is not enough', async () => {
    const url = `http://127.0.0.1:${stats.address.port}`;
    for (const headers of [{}, basic('ops', 'stats pass'), bearer('ops:stats pass')]) {
      const res = await request('POST', `${url}/admin/workers/42/restart`, headers);
      expect(res.status).toBe(401);
      expect(res.body).toBe('');
    }
    expect(calls).toEqual([]);
    // The statistics pages still want their own credentials, not the token.
    expect((await request('GET', `${url}/api/stats`, bearer(TOKEN))).status).toBe(401);
    expect((await request('GET', `${url}/api/stats`, basic('ops', 'stats pass'))).status).toBe(200);

    const ok = await request('POST', `${url}/admin/workers/42/restart`, bearer(TOKEN));
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ ok: true, result: { service: 'S', oldPid: 42, newPid: 43 } });
    expect(calls).toEqual(['restart 42']);
  });

  it('without allowRemote, a peer that is not loopback gets 403 and nothing runs', async () => {
    const before = calls.length;
    const lines: unknown[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    // The peer check is handed in: here every peer counts as remote.
    const server = http.createServer((req, res) => {
      void handleAdmin(req, res, req.url ?? '/', {
        access: { token: TOKEN, allowRemote: false },
        actions,
        log,
        isLoopbackPeer: () => false,
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const res = await request('POST', `http://127.0.0.1:${port}/admin/stop`, bearer(TOKEN));
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('ERR_ADMIN_FORBIDDEN');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(calls.length).toBe(before);
    expect(lines).toContainEqual(
      expect.objectContaining({
        admin: expect.objectContaining({ what: 'POST /admin/stop', status: 403 }),
        level: 40,
      }),
    );
  });
});
