// EtcdRegistration in this process against a real etcd: a lease lost behind the host's back is
// replaced, password authentication works (and a wrong password is reported), and the record
// parsing every reader relies on refuses what it cannot use.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefixRangeEnd } from '../src/common/etcd-gateway.js';
import { parseHostRecord, parseInstanceRecord } from '../src/common/registry-record.js';
import type { RegistryConfig } from '../src/config/config.js';
import { EtcdRegistration } from '../src/registry/etcd-registration.js';
import { renderPrometheusSd } from '../src/registry/prometheus-sd.js';
import { waitFor } from './helpers/cli.js';
import { etcdClient, type EtcdHandle, startEtcd } from './helpers/etcd.js';

let etcd: EtcdHandle;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

const silent = pino({ level: 'silent' });

function registryConfig(extra: Partial<RegistryConfig> = {}): RegistryConfig {
  return {
    endpoints: [etcd.endpoint],
    prefix: '/r/',
    ttlSeconds: 2,
    hostId: 'h',
    weight: 1,
    deregisterDelayMs: 0,
    requestTimeoutMs: 1000,
    ...extra,
  };
}

describe('EtcdRegistration', () => {
  it('a lease lost behind the host (expired, revoked, etcd restored) is replaced and the keys written again', async () => {
    const kv = etcdClient(etcd.endpoint);
    const reg = new EtcdRegistration(registryConfig(), [{ key: '/r/S/1.2.3.4:5', value: '{}' }], silent, {});
    await reg.start();
    const first = reg.status();
    expect(first).toMatchObject({ state: 'registered', registrations: 1, keys: ['/r/S/1.2.3.4:5'] });
    await kv.revokeLease(first.lease!);
    expect((await kv.range('/r/')).kvs).toEqual([]);
    // Renewal runs every third of the TTL: the next one notices and registers again.
    await waitFor(() => reg.status().registrations >= 2, 5000, 'a second registration');
    const { kvs } = await kv.range('/r/');
    expect(kvs.map((k) => [k.key, k.lease])).toEqual([['/r/S/1.2.3.4:5', reg.status().lease]]);
    expect(reg.status().lease).not.toBe(first.lease);
    await reg.deregister();
    expect((await kv.range('/r/')).kvs).toEqual([]);
    expect(reg.status().state).toBe('deregistered');
    kv.close();
  });

  it('a host started while etcd is down keeps retrying and registers once etcd answers', async () => {
    const later = await startEtcd();
    try {
      await later.kill();
      const reg = new EtcdRegistration(
        registryConfig({ endpoints: [later.endpoint], prefix: '/down/', requestTimeoutMs: 300 }),
        [{ key: '/down/S/a:1', value: '{}' }],
        silent,
        {},
      );
      await reg.start();
      expect(reg.status()).toMatchObject({ state: 'unreachable', registrations: 0, lastError: expect.stringMatching(/etcd unreachable at/) });
      await later.restart();
      await waitFor(() => reg.status().state === 'registered', 10_000, 'registration after etcd came up');
      const kv = etcdClient(later.endpoint);
      expect((await kv.range('/down/')).kvs.map((k) => k.key)).toEqual(['/down/S/a:1']);
      kv.close();
      await reg.deregister();
    } finally {
      await later.stop();
    }
  });

  it('registers with a user and password when etcd requires them; a wrong password is reported, not thrown', async () => {
    const secured = await startEtcd();
    try {
      // etcd's own API: a root user with the root role, then authentication on.
      const call = async (p: string, body: object) => {
        const res = await fetch(`${secured.endpoint}${p}`, { method: 'POST', body: JSON.stringify(body) });
        expect(res.status).toBe(200);
      };
      await call('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
      await call('/v3/auth/role/add', { name: 'root' });
      await call('/v3/auth/user/grant', { user: 'root', role: 'root' });
      await call('/v3/auth/enable', {});

      // etcd checks passwords with bcrypt: slow on a loaded machine, so a generous bound.
      const cfg = registryConfig({ endpoints: [secured.endpoint], username: 'root', prefix: '/auth/', requestTimeoutMs: 10_000 });
      const wrong = new EtcdRegistration({ ...cfg, password: 'nope' }, [{ key: '/auth/S/a:1', value: '{}' }], silent, {});
      await wrong.start();
      expect(wrong.status()).toMatchObject({ state: 'unreachable', lastError: expect.stringMatching(/authentication failed/) });
      wrong.close();

      // The password may come from the environment instead of the file.
      const right = new EtcdRegistration(cfg, [{ key: '/auth/S/a:1', value: '{}' }], silent, {
        THRIFTHOST_ETCD_PASSWORD: 'rootpw',
      });
      await right.start();
      expect(right.status()).toMatchObject({ state: 'registered', registrations: 1 });
      expect((await right.fleet())).toEqual([]);
      await right.deregister();
    } finally {
      await secured.stop();
    }
  });
});

describe('registry records', () => {
  it('an instance value is checked field by field; a host value needs a stats address', () => {
    const good = { service: 'S', address: '10.0.0.1:9090', protocol: 'TCompactProtocol', transport: 'framed', hostId: 'h' };
    expect(parseInstanceRecord(JSON.stringify(good))).toEqual({
      service: 'S',
      address: '10.0.0.1:9090',
      protocol: 'compact',
      transport: 'framed',
      multiplexed: false,
      weight: 1,
      hostId: 'h',
    });
    expect(parseInstanceRecord('{')).toBe('value is not JSON');
    expect(parseInstanceRecord(JSON.stringify({ ...good, address: '10.0.0.1:0' }))).toMatch(/^address port 0/);
    expect(parseInstanceRecord(JSON.stringify({ ...good, protocol: 'xml' }))).toBe('protocol "xml" is unknown');
    expect(parseInstanceRecord(JSON.stringify({ ...good, weight: -1 }))).toBe('weight is not a number >= 0');
    expect(parseHostRecord(JSON.stringify({ hostId: 'h' }))).toBe('stats missing');
  });

  it('a prefix range ends after the last key starting with the prefix', () => {
    expect(prefixRangeEnd('/a/').toString()).toBe('/a0');
    expect([...prefixRangeEnd('a\xff')]).toEqual([0x61, 0xc3, 0xc0]);
  });

  it('Prometheus http_sd lists one target group per host, sorted', () => {
    expect(
      renderPrometheusSd([
        { hostId: 'b', stats: '10.0.0.2:1', services: ['S'] },
        { hostId: 'a', stats: '10.0.0.1:1', services: ['S', 'T'] },
      ]),
    ).toEqual([
      { targets: ['10.0.0.1:1'], labels: { __meta_thrifthost_host_id: 'a', __meta_thrifthost_services: ',S,T,' } },
      { targets: ['10.0.0.2:1'], labels: { __meta_thrifthost_host_id: 'b', __meta_thrifthost_services: ',S,' } },
    ]);
  });
});
