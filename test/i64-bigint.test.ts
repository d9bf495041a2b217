/**
 * Code generated with `rpc gen --i64 bigint` (or `"i64": "bigint"` in rpc.config.json): i64
 * values are plain bigints on both sides, over the full 64-bit range, on every protocol; the
 * wire format is unchanged, so Apache clients with node-int64 values still interoperate. The
 * host's and the client's `i64` follow the generated code, and a setting naming the other
 * representation is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import thrift from 'thrift';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { PROTOCOLS } from '../src/codec/protocols.js';
import { generate } from '../src/cli/gen.js';
import { checkServiceFiles, validateHostConfig } from '../src/config/config.js';
import { ROOT, rawClient, startServer } from './helpers/in-process-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** gen/ of this repository holds int64 code: Catalog generated again as bigint. */
let genDir: string;
beforeAll(() => {
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'i64-bigint-'));
  fs.mkdirSync(path.join(dir, 'idl'));
  fs.copyFileSync(path.join(ROOT, 'idl/Catalog.thrift'), path.join(dir, 'idl/Catalog.thrift'));
  genDir = path.join(dir, 'gen');
  generate({ idlDir: path.join(dir, 'idl'), outDir: genDir, i64: 'bigint' });
});
afterAll(() => fs.rmSync(path.dirname(genDir), { recursive: true, force: true }));

const handler = path.join(ROOT, 'test/fixtures/handlers/bigint-catalog.cjs');

describe.each(PROTOCOLS)('i64 as bigint over %s', (protocol) => {
  it('passes bigints both ways, beyond 2^53 and negative', async () => {
    // No "i64" on either side: both take the generated code's.
    const host = await startServer({ service: 'Catalog', handler, protocol, genDir });
    cleanups.push(host.close);
    const options = validateServiceOptions('Catalog', { addresses: [`127.0.0.1:${host.port}`], protocol, serviceDir: genDir, shareState: false });
    expect(options.i64).toBe('bigint');
    const client = new ServiceClient(options);
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
    const host = await startServer({ service: 'Catalog', handler, protocol, genDir, i64: 'bigint' });
    cleanups.push(host.close);
    const { client, close } = rawClient('Catalog', host.port, protocol);
    cleanups.push(close);
    const sum = await client.add(thrift.fromBigInt(2n ** 55n), thrift.fromBigInt(3n));
    expect(thrift.toBigInt(sum)).toBe(2n ** 55n + 3n);
  });
});

it('refuses an i64 setting the generated code was not generated with, on the host and on the client', () => {
  const config = validateHostConfig(
    { services: [{ service: 'Catalog', listen: '127.0.0.1:0', genDir, i64: 'int64', handler }] },
    path.join(ROOT, 'rpc.config.json'),
  );
  expect(() => checkServiceFiles(config)).toThrow(/services\[0\]\.i64.*is "int64", but .*Catalog\.js was generated with i64 "bigint": run `rpc gen` again/);
  expect(() => validateServiceOptions('Catalog', { addresses: ['127.0.0.1:1'], serviceDir: genDir, i64: 'int64' })).toThrow(
    /Catalog\.i64 is "int64", but .*Catalog\.js was generated with i64 "bigint"/,
  );
  // This repository's gen/ is int64: the defaults stay int64 there.
  expect(validateServiceOptions('Catalog', { addresses: ['127.0.0.1:1'], serviceDir: path.join(ROOT, 'gen') }).i64).toBe('int64');
});

it('rejects an unknown i64 mode naming the field', async () => {
  await expect(startServer({ service: 'Catalog', i64: 'number' })).rejects.toThrow(/services\[0\]\.i64.*int64, bigint/);
});
