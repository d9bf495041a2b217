/**
 * `"i64": "bigint"` on a service and `i64: 'bigint'` on a ThriftClient service: i64 values are
 * plain bigints on both sides, over the full 64-bit range, on every protocol; the wire format is
 * unchanged, so Apache clients with node-int64 values still interoperate.
 */
import path from 'node:path';
import thrift from 'thrift';
import { afterEach, describe, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-options.js';
import { ServiceClient } from '../clients/service-client.js';
import { PROTOCOLS } from '../src/codec/protocols.js';
import { ROOT, rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const handler = path.join(ROOT, 'test/fixtures/handlers/bigint-catalog.cjs');

describe.each(PROTOCOLS)('i64 as bigint over %s', (protocol) => {
  it('passes bigints both ways, beyond 2^53 and negative', async () => {
    const host = await startServer({ service: 'Catalog', handler, protocol, i64: 'bigint' });
    cleanups.push(host.close);
    const client = new ServiceClient(
      validateServiceOptions('Catalog', {
        addresses: [`127.0.0.1:${host.port}`],
        protocol,
        serviceDir: path.join(ROOT, 'gen'),
        shareState: false,
        i64: 'bigint',
      }),
    );
    cleanups.push(() => client.destroy());
    expect(await client.call('add', [2n ** 62n, 1n])).toBe(2n ** 62n + 1n);
    expect(await client.call('add', [-(2n ** 63n), 5n])).toBe(-(2n ** 63n) + 5n);
    expect(await client.call('add', [7, 8])).toBe(15n); // safe-integer numbers are accepted on the way out
    const item = (await client.call('get', [-(2n ** 60n)])) as { id: bigint; related: bigint[] };
    expect(item.id).toBe(-(2n ** 60n));
    expect(item.related).toEqual([-(2n ** 60n), 2n ** 60n]);
    // Decimal strings (map keys kept in plain objects) are numbers; anything else, hex included, is refused.
    expect(await client.call('add', ['12', 1n])).toBe(13n);
    const err = await client.call('add', ['0x0c', 1n]).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/i64 value is the string "0x0c"; pass a number, bigint or Int64/);
  });

  it('serves an Apache client sending node-int64 values', async () => {
    const host = await startServer({ service: 'Catalog', handler, protocol, i64: 'bigint' });
    cleanups.push(host.close);
    const { client, close } = rawClient('Catalog', host.port, protocol);
    cleanups.push(close);
    const sum = await client.add(thrift.fromBigInt(2n ** 55n), thrift.fromBigInt(3n));
    expect(thrift.toBigInt(sum)).toBe(2n ** 55n + 3n);
  });
});

it('rejects an unknown i64 mode naming the field', async () => {
  await expect(startServer({ service: 'Catalog', i64: 'number' })).rejects.toThrow(/services\[0\]\.i64.*int64, bigint/);
});
