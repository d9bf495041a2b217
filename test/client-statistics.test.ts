/**
 * `ThriftClient.config(services, { statistics: 'udp://...' })`: every call's report reaches a
 * UDP listener, successes and failures by method, without changing the calls' outcomes.
 */
import dgram from 'node:dgram';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { ThriftClient } from '../clients/index.js';
import { decodeReports, type ReportEntry } from '../src/common/stats-wire.js';
import { startServer, waitFor } from './helpers/in-process-server.js';
import { GEN_DIR } from './helpers/servers.js';

type Catalog = import('../gen/Catalog/Catalog.js').Client;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  await ThriftClient.reset();
  for (const c of cleanups.splice(0)) await c();
});

describe('client statistics option', () => {
  it('ships a report of every call to the statistics address', async () => {
    const udp = dgram.createSocket('udp4');
    const entries: ReportEntry[] = [];
    udp.on('message', (m) => {
      const decoded = decodeReports(m);
      if (typeof decoded !== 'string') entries.push(...decoded);
    });
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    cleanups.push(() => {
      udp.close();
    });
    const host = await startServer({ service: 'Catalog' });
    cleanups.push(host.close);

    ThriftClient.config(
      { Catalog: { addresses: [`127.0.0.1:${host.port}`], serviceDir: GEN_DIR, shareState: false } },
      { statistics: `udp://127.0.0.1:${(udp.address() as { port: number }).port}` },
    );
    const catalog = ThriftClient.instance<Catalog>('Catalog');
    for (let i = 0; i < 5; i++) await catalog.ping();
    await expect(catalog.get(new thrift.Int64(1))).rejects.toMatchObject({ name: 'NotFound' });
    await expect(catalog.fail('sync')).rejects.toBeInstanceOf(thrift.Thrift.TApplicationException);

    const count = (method: string, ok: boolean) =>
      entries
        .filter((e) => e.method === method && (e.code === '') === ok)
        .reduce((n, e) => n + e.latenciesMs.length, 0);
    await waitFor(() => count('ping', true) === 5 && count('get', false) === 1 && count('fail', false) === 1);
    expect(entries.every((e) => e.service === 'Catalog' && e.address === `127.0.0.1:${host.port}`)).toBe(
      true,
    );
    expect(entries.find((e) => e.method === 'get')?.code).toBe('NotFound');
  });

  it('rejects a statistics address that is not udp://ip:port', () => {
    expect(() => ThriftClient.config({}, { statistics: 'tcp://127.0.0.1:1' })).toThrow(/udp:\/\/host:port/);
  });
});
