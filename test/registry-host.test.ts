// A host with a `registry` block, through the real CLI (`rpc start -d` / status / reload / stop)
// against a real etcd: its instance and statistics keys appear on a lease, survive a reload,
// vanish before the stop completes; `rpc status` and /sd/prometheus show them.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateHostConfig } from '../src/config/config.js';
import { cleanupHost, freePort, makeHost, rpc, statusJson, type TestHost, waitFor } from './helpers/cli.js';
import { etcdClient, type EtcdHandle, startEtcd } from './helpers/etcd.js';
import { request } from './helpers/http-request.js';

let etcd: EtcdHandle;
let host: TestHost | undefined;

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

const FILE = path.resolve('rpc.config.json');

describe('host registration in etcd', () => {
  it('the registry block is validated: defaults, advertise required on 0.0.0.0, fixed ports, known keys', () => {
    const base = { services: [{ name: 'HelloWorld', listen: '127.0.0.2:9090' }] };
    const ok = validateHostConfig({ ...base, registry: { endpoints: ['http://127.0.0.1:2379'] } }, FILE);
    expect(ok.registry).toMatchObject({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/thrifthost/services/',
      ttlSeconds: 10,
      weight: 1,
      deregisterDelayMs: 1000,
    });
    const wild = { services: [{ name: 'HelloWorld', listen: '0.0.0.0:9090' }], registry: { endpoints: ['http://e:2379'] } };
    expect(() => validateHostConfig(wild, FILE)).toThrow(/registry\.advertise is required: services\[0\] listens on 0\.0\.0\.0/);
    const statsWild = { ...base, stats: { listen: '0.0.0.0:1', user: 'u', password: 'p' }, registry: { endpoints: ['http://e:2379'] } };
    expect(() => validateHostConfig(statsWild, FILE)).toThrow(/registry\.advertise is required: stats listens on 0\.0\.0\.0/);
    const zero = { services: [{ name: 'HelloWorld', listen: '127.0.0.1:0' }], registry: { endpoints: ['http://e:2379'] } };
    expect(() => validateHostConfig(zero, FILE)).toThrow(/services\[0\]\.listen port 0 cannot be registered/);
    expect(() => validateHostConfig({ ...base, registry: { endpoints: ['http://e:2379'], ttl: 5 } }, FILE)).toThrow(
      /registry has unknown key "ttl"/,
    );
    expect(() => validateHostConfig({ ...base, registry: { endpoints: ['e:2379'] } }, FILE)).toThrow(
      /registry\.endpoints\[0\] "e:2379" is not http\(s\):\/\/host:port/,
    );
  });

  it('registers on start, keeps the same lease through a reload and a worker crash, serves /sd/prometheus, deregisters on stop', async () => {
    const port = await freePort();
    const statsPort = await freePort();
    host = await makeHost({ count: 1, service: { listen: `tcp://127.0.0.2:${port}` } });
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    config.stats = { listen: `127.0.0.2:${statsPort}` };
    config.registry = { endpoints: [etcd.endpoint], prefix: '/h/', hostId: 'machine-2', ttlSeconds: 5, version: 'r1' };
    fs.writeFileSync(host.config, JSON.stringify(config));
    const kv = etcdClient(etcd.endpoint);

    const started = await rpc(['start', '-d'], host.dir);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const { kvs } = await kv.range('/h/');
    const instanceKey = `/h/HelloWorld/127.0.0.2:${port}`;
    expect(kvs.map((k) => k.key).sort()).toEqual([`/h/.hosts/127.0.0.2:${statsPort}`, instanceKey]);
    const instance = kvs.find((k) => k.key === instanceKey)!;
    expect(JSON.parse(instance.value)).toEqual({
      service: 'HelloWorld',
      address: `127.0.0.2:${port}`,
      protocol: 'binary',
      transport: 'buffered',
      multiplexed: false,
      weight: 1,
      version: 'r1',
      hostId: 'machine-2',
      stats: `127.0.0.2:${statsPort}`,
    });
    const status = (await statusJson(host)) as unknown as { registry: Record<string, unknown> };
    expect(status.registry).toMatchObject({ state: 'registered', hostId: 'machine-2', lease: instance.lease, registrations: 1 });
    const text = await rpc(['status'], host.dir);
    expect(text.stdout).toMatch(/registry registered for .* host id machine-2 {3}2 key\(s\) under \/h\//);

    const sd = await request('GET', `http://127.0.0.2:${statsPort}/sd/prometheus`);
    expect(sd.status).toBe(200);
    expect(JSON.parse(sd.body)).toEqual([
      {
        targets: [`127.0.0.2:${statsPort}`],
        labels: { __meta_thrifthost_host_id: 'machine-2', __meta_thrifthost_services: ',HelloWorld,' },
      },
    ]);

    // A reload replaces the workers but not the registration: same lease, same keys.
    const deletes: string[] = [];
    const watch = kv.watch('/h/', '0', (events) => {
      for (const e of events) if (e.type === 'delete') deletes.push(e.kv.key);
    }, () => {});
    expect((await rpc(['reload'], host.dir)).code).toBe(0);
    expect((await kv.range('/h/')).kvs.find((k) => k.key === instanceKey)?.lease).toBe(instance.lease);
    expect(deletes).toEqual([]);
    // Nor does a crashed worker: the master respawns it, the registration does not move.
    const victim = (await statusJson(host)).workers[0]!.pid;
    process.kill(victim, 'SIGKILL');
    const running = host;
    await waitFor(async () => {
      const w = (await statusJson(running)).workers;
      return w.length === 1 && w[0]!.pid !== victim && w[0]!.state === 'listening';
    }, 15_000, 'a respawned worker');
    expect((await kv.range('/h/')).kvs.find((k) => k.key === instanceKey)?.lease).toBe(instance.lease);
    expect(deletes).toEqual([]);

    const stopped = await rpc(['stop'], host.dir);
    expect(stopped.code).toBe(0);
    expect((await kv.range('/h/')).kvs).toEqual([]);
    expect(deletes.sort()).toEqual([`/h/.hosts/127.0.0.2:${statsPort}`, instanceKey]);
    const log = fs.readFileSync(host.log, 'utf8');
    // Deregistered before the workers were told to drain.
    const deregistered = log.indexOf('registry: deregistered 2 key(s)');
    expect(deregistered).toBeGreaterThan(0);
    expect(log.indexOf('stopping: draining every worker')).toBeGreaterThan(deregistered);
    watch.close();
    kv.close();
  });

  it('registry endpoints are tried in turn: a host registers through the first member that answers', async () => {
    const port = await freePort();
    host = await makeHost({ count: 1, service: { listen: `tcp://127.0.0.3:${port}` } });
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    const dead = `http://127.0.0.1:${await freePort()}`;
    config.registry = { endpoints: [dead, etcd.endpoint], prefix: '/late/', requestTimeoutMs: 300 };
    fs.writeFileSync(host.config, JSON.stringify(config));
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
    // The first endpoint refuses; the second answers: failover across endpoints.
    const status = (await statusJson(host)) as unknown as { registry: { state: string } };
    expect(status.registry.state).toBe('registered');
    const kv = etcdClient(etcd.endpoint);
    expect((await kv.range('/late/')).kvs.map((k) => k.key)).toEqual([`/late/HelloWorld/127.0.0.3:${port}`]);
    kv.close();
  });
});
