/**
 * GenericClient: every ThriftTest method called from the IDL alone, with JSON-form values, on
 * every protocol × transport (THeader included) and multiplexed, against a thrifthost host; then
 * what a caller sees for each kind of mistake or failure: a wrong value (with its path), an
 * unknown service or method (with the nearest names), an unreachable address, a peer that does
 * not answer Thrift, TLS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeclaredException, GenericClient, type GenericClientOptions } from '../clients/generic-client.js';
import { IdlModel } from '../src/idl/idl-model.js';
import { THRIFT_TEST_CALLS } from './helpers/thrift-test-calls.js';
import {
  COMBINATIONS,
  prepareThriftTest,
  startThriftTest,
  THRIFT_TEST_IDL,
  type ThriftTestFiles,
} from './helpers/thrift-test-host.js';

let files: ThriftTestFiles;
let model: IdlModel;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  files = prepareThriftTest();
  model = IdlModel.load(THRIFT_TEST_IDL);
}, 60_000);
afterAll(() => files?.remove());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(port: number, options: Partial<GenericClientOptions> = {}): GenericClient {
  const c = new GenericClient({
    idl: model,
    service: 'ThriftTest',
    addresses: [`127.0.0.1:${port}`],
    shareState: false,
    poolMax: 1,
    ...options,
  });
  cleanups.push(() => c.destroy());
  return c;
}

async function outcome(c: GenericClient, method: string, args: unknown): Promise<unknown> {
  try {
    return { result: await c.call(method, args as unknown[]) };
  } catch (err) {
    if (err instanceof DeclaredException) return { exception: err.toJSON() };
    if ((err as { type?: number }).type !== undefined) return { applicationError: (err as { type: number }).type };
    throw err;
  }
}

function expected(call: (typeof THRIFT_TEST_CALLS)[number]): unknown {
  if (call.exception) return { exception: call.exception };
  if (call.applicationError !== undefined) return { applicationError: call.applicationError };
  return { result: call.result };
}

describe.each([
  ...COMBINATIONS.map(([p, t]) => [p, t, false] as const),
  ['binary', 'framed', true] as const,
  ['compact', 'header', true] as const,
  ['json', 'buffered', true] as const,
])('ThriftTest over %s / %s%s', (protocol, transport, multiplexed) => {
  it(`answers every method as the IDL says${multiplexed ? ' (multiplexed as "ThriftTest")' : ''}`, async () => {
    const server = await startThriftTest(files, protocol, transport, { multiplexed });
    cleanups.push(server.close);
    const c = client(server.port, { protocol, transport, ...(multiplexed ? { multiplexed: 'ThriftTest' } : {}) });
    const before = files.oneways.length;
    for (const call of THRIFT_TEST_CALLS) {
      expect({ call: `${call.method} ${JSON.stringify(call.args)}`, ...(await outcome(c, call.method, call.args) as object) }).toEqual({
        call: `${call.method} ${JSON.stringify(call.args)}`,
        ...(expected(call) as object),
      });
    }
    expect(files.oneways.slice(before)).toEqual([1]);
  });
});
