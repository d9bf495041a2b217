/**
 * Cross-language: Apache's Go library (Debian golang-thrift-dev) over Apache's ThriftTest IDL, on
 * every protocol × transport Go speaks (THeader included). A Go client with the checks of
 * Apache's Go TestClient (test/fixtures/go_thrifttest.go) calls a host serving ThriftTest, and
 * ThriftClient calls the same program as a server; the Go client against the Go server shows
 * the checks themselves hold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateServiceOptions } from '../clients/client-config.js';
import { ServiceClient } from '../clients/service-client.js';
import { generate } from '../src/cli/gen.js';
import { createTestServer } from '../src/worker/test-server.js';
import { buildGoPeer, goMissing, runGoClient, startGoServer, THRIFT_TEST_IDL } from './helpers/go-peer.js';
import { ROOT, waitFor } from './helpers/in-process-server.js';

const { createThriftTestHandler } = require('./fixtures/handlers/thrift-test.cjs');

/** Every protocol and transport pair both sides speak; THeader carries binary or compact. */
const COMBINATIONS = [
  ['binary', 'buffered'],
  ['binary', 'framed'],
  ['binary', 'header'],
  ['compact', 'buffered'],
  ['compact', 'framed'],
  ['compact', 'header'],
  ['json', 'buffered'],
  ['json', 'framed'],
] as const;
/** The Go client's last check: it stops at the first failing one. */
const LAST_CHECK = 'ok testString after testOneway';

const SKIP = goMissing();
let goBin: string;
let genDir: string;
let types: Record<string, any>;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  if (SKIP) return;
  // Inside the project, so the generated code resolves the `thrift` package.
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  genDir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'thrifttest-'));
  generate({ idlDir: path.dirname(THRIFT_TEST_IDL), outDir: genDir });
  types = require(path.join(genDir, 'ThriftTest/ThriftTest_types.js'));
  goBin = buildGoPeer();
}, 120_000);
afterAll(() => {
  if (genDir) fs.rmSync(genDir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(SKIP)(`Apache's Go library${SKIP ? ` (skipped: ${SKIP})` : ''}`, () => {
  describe.each(COMBINATIONS)('over %s / %s', (protocol, transport) => {
    it('the Go client passes every ThriftTest check against the host, calls after testOneway included', async () => {
      const oneways: number[] = [];
      const host = await createTestServer({
        service: 'ThriftTest',
        handler: createThriftTestHandler(types, (n: number) => oneways.push(n)),
        protocol,
        transport,
        genDir,
      });
      cleanups.push(host.close);
      const run = await runGoClient(goBin, host.port, protocol, transport);
      const failed = run.lines.filter((l) => !l.startsWith('ok '));
      expect({ failed, stderr: run.stderr }).toEqual({ failed: [], stderr: '' });
      expect(run.lines.at(-1)).toBe(LAST_CHECK);
      expect(run.code).toBe(0);
      expect(oneways).toEqual([1]);
    });

    it('ThriftClient calls every ThriftTest method of the Go server', async () => {
      const go = await startGoServer(goBin, protocol, transport);
      cleanups.push(go.close);
      const client = new ServiceClient(
        validateServiceOptions('ThriftTest', {
          addresses: [`127.0.0.1:${go.port}`],
          protocol,
          transport,
          serviceDir: genDir,
          i64: 'bigint',
          // One connection: the oneway call and the call after it share it.
          poolMax: 1,
          shareState: false,
        }),
      );
      cleanups.push(() => client.destroy());
      await callEverything((method, ...args) => client.call(method, args));
      await waitFor(() => go.output().includes('oneway 3\n'), 5000, 'the Go server to run testOneway');
    });

    it('the Go client passes every check against the Go server (the checks hold)', async () => {
      const go = await startGoServer(goBin, protocol, transport);
      cleanups.push(go.close);
      const run = await runGoClient(goBin, go.port, protocol, transport);
      const failed = run.lines.filter((l) => !l.startsWith('ok '));
      expect({ failed, stderr: run.stderr }).toEqual({ failed: [], stderr: '' });
      expect(run.lines.at(-1)).toBe(LAST_CHECK);
      expect(run.code).toBe(0);
    });
  });
});

// --- internal ---

/** Apache's ThriftTest client checks, from Node: each method once or more, results compared. */
async function callEverything(call: (method: string, ...args: unknown[]) => Promise<any>): Promise<void> {
  const { Xtruct, Xtruct2, Insanity, Xception, Xception2, Numberz } = types;
  expect(await call('testVoid')).toBeUndefined();
  for (const s of ['thing', 'Ünïcödé ∑ 日本語 🚀', '']) expect(await call('testString', s)).toBe(s);
  expect(await call('testBool', true)).toBe(true);
  expect(await call('testBool', false)).toBe(false);
  for (const b of [42, -128, 127]) expect(await call('testByte', b)).toBe(b);
  for (const n of [4242, -(2 ** 31), 2 ** 31 - 1]) expect(await call('testI32', n)).toBe(n);
  for (const n of [424242n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n]) expect(await call('testI64', n)).toBe(n);
  for (const d of [42.42, -5.25e-300, Number.MAX_VALUE]) expect(await call('testDouble', d)).toBe(d);
  const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  expect(Buffer.compare(await call('testBinary', bin), bin)).toBe(0);

  const xs = new Xtruct({ string_thing: 'thing', byte_thing: 42, i32_thing: 4242, i64_thing: 424242n });
  expect(await call('testStruct', xs)).toEqual(xs);
  const x2 = new Xtruct2({ byte_thing: 1, struct_thing: xs, i32_thing: 5 });
  expect(await call('testNest', x2)).toEqual(x2);
  const map = { 1: 2, 3: 4, 5: 42, [-7]: -8 };
  expect(await call('testMap', map)).toEqual(map);
  const smap = { a: '2', b: 'blah', some: 'thing' };
  expect(await call('testStringMap', smap)).toEqual(smap);
  expect([...(await call('testSet', [1, 2, 42]))].sort((a, b) => a - b)).toEqual([1, 2, 42]);
  expect(await call('testList', [1, 2, 42, -3])).toEqual([1, 2, 42, -3]);
  for (const e of [Numberz.ONE, Numberz.TWO, Numberz.EIGHT]) expect(await call('testEnum', e)).toBe(e);
  expect(await call('testTypedef', 2n ** 40n + 42n)).toBe(2n ** 40n + 42n);
  expect(await call('testMapMap', 42)).toEqual({
    [-4]: { [-4]: -4, [-3]: -3, [-2]: -2, [-1]: -1 },
    4: { 1: 1, 2: 2, 3: 3, 4: 4 },
  });

  const crazy = new Insanity({
    userMap: { [Numberz.FIVE]: 5n, [Numberz.EIGHT]: 8n },
    xtructs: [
      new Xtruct({ string_thing: 'Goodbye4', byte_thing: 4, i32_thing: 4, i64_thing: 4n }),
      new Xtruct({ string_thing: 'Hello2', byte_thing: 2, i32_thing: 2, i64_thing: 2n }),
    ],
  });
  const insanity = await call('testInsanity', crazy);
  expect(Object.keys(insanity).sort()).toEqual(['1', '2']);
  expect(insanity[1]).toEqual({ [Numberz.TWO]: crazy, [Numberz.THREE]: crazy });
  expect(Object.keys(insanity[2])).toEqual([String(Numberz.SIX)]);
  // An empty Insanity: Go writes its nil map and list as empty ones.
  expect(insanity[2][Numberz.SIX].userMap ?? {}).toEqual({});
  expect(insanity[2][Numberz.SIX].xtructs ?? []).toEqual([]);

  expect(await call('testMulti', 42, 4242, 424242n, { 1: 'blah', 2: 'thing' }, Numberz.EIGHT, 24n)).toEqual(
    new Xtruct({ string_thing: 'Hello2', byte_thing: 42, i32_thing: 4242, i64_thing: 424242n }),
  );
  await expect(call('testException', 'Xception')).rejects.toEqual(
    new Xception({ errorCode: 1001, message: 'Xception' }),
  );
  await expect(call('testException', 'TException')).rejects.toMatchObject({ type: 6 }); // INTERNAL_ERROR
  expect(await call('testException', 'success')).toBeUndefined();
  await expect(call('testMultiException', 'Xception', 'ignoreme')).rejects.toEqual(
    new Xception({ errorCode: 1001, message: 'This is an Xception' }),
  );
  // Go writes the unset fields of a struct as zeros, hence toMatchObject.
  const xception2 = await call('testMultiException', 'Xception2', 'ignoreme').catch((err: unknown) => err);
  expect(xception2).toBeInstanceOf(Xception2);
  expect(xception2).toMatchObject({ errorCode: 2002, struct_thing: { string_thing: 'This is an Xception2' } });
  const normal = await call('testMultiException', 'Normal', 'hello');
  expect(normal).toBeInstanceOf(Xtruct);
  expect(normal).toMatchObject({ string_thing: 'hello' });

  expect(await call('testOneway', 3)).toBeUndefined();
  expect(await call('testString', 'after oneway')).toBe('after oneway');
}
