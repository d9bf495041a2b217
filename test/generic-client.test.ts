/**
 * GenericClient: every ThriftTest method called from the IDL alone, with JSON-form values, on
 * every protocol × transport (THeader included) and multiplexed, against a thrifthost host; then
 * what a caller sees for each kind of mistake or failure: a wrong value (with its path), an
 * unknown service or method (with the nearest names), an unreachable address, a peer that does
 * not answer Thrift, TLS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DeclaredException, GenericClient, type GenericClientOptions } from '../clients/generic-client.js';
import { checkArguments } from '../src/codec/generic-method.js';
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

describe('a value that does not fit the IDL names its path, before anything is sent', () => {
  // Nothing listens on port 1: these fail before connecting, or the test would see ERR_CONNECT_FAILED.
  it.each([
    ['testI32', { thing: 'x' }, 'thing: expected i32, got "x"'],
    ['testI32', [2 ** 31], 'thing: 2147483648 is out of range for i32 (-2147483648 to 2147483647)'],
    ['testByte', [1.5], 'thing: expected i8, got 1.5'],
    ['testI64', [2 ** 60], 'thing: 1152921504606847000 is beyond 2^53 and may have lost digits; give an i64 this large as a string ("12345678901234567890")'],
    ['testI64', ['9223372036854775808'], 'thing: 9223372036854775808 is out of range for i64'],
    ['testI64', ['0x10'], 'thing: expected i64 (a number or a string of digits), got "0x10"'],
    ['testBool', ['true'], 'thing: expected bool, got "true"'],
    ['testBinary', ['not base64!'], 'thing: "not base64!" is not base64 (for text write {"utf8": "..."}, for hex {"hex": "..."})'],
    ['testBinary', [{ hex: 'abc' }], 'thing.hex: "abc" is not hex digits in pairs'],
    ['testEnum', ['FIV'], 'thing: "FIV" is not a member of enum Numberz (did you mean FIVE?) (members: ONE, TWO, THREE, FIVE, SIX, EIGHT)'],
    ['testEnum', ['FOUR'], 'thing: "FOUR" is not a member of enum Numberz (members: ONE, TWO, THREE, FIVE, SIX, EIGHT)'],
    ['testStruct', [{ string_thing: 'a', i32_thnig: 1 }], 'thing.i32_thnig: struct Xtruct has no field i32_thnig (did you mean i32_thing?) (fields: string_thing, byte_thing, i32_thing, i64_thing)'],
    ['testNest', [{ struct_thing: { i64_thing: true } }], 'thing.struct_thing.i64_thing: expected i64 (a number or a string of digits), got true'],
    ['testMap', [{ one: 1 }], 'thing["one"]: map key "one" is not an integer (i32)'],
    ['testMap', [[[1, 2, 3]]], 'thing[0]: expected a [key, value] pair, got an array'],
    ['testList', [{ 0: 1 }], 'thing: expected list<i32> (an array), got an object'],
    ['testInsanity', [{ userMap: { SEVEN: 1 } }], 'argument.userMap["SEVEN"]: "SEVEN" is not a member of enum Numberz (members: ONE, TWO, THREE, FIVE, SIX, EIGHT)'],
    ['testInsanity', [{ xtructs: [{}, { byte_thing: 'x' }] }], 'argument.xtructs[1].byte_thing: expected i8, got "x"'],
    ['testString', ['a', 'b'], 'arguments[1]: testString takes 1 argument (thing), got 2'],
    ['testString', { thnig: 'a' }, 'thnig: testString has no argument thnig (did you mean thing?) (arguments: thing)'],
  ])('%s %j', async (method, args, message) => {
    const c = client(1);
    await expect(c.call(method, args)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message });
  });

  it('a union takes exactly one field, a required field must be given, and a default fills an absent field', () => {
    const m = IdlModel.load(write());
    const fn = m.findService('S')[0]!.functions.get('f')!;
    expect(() => checkArguments(fn, [{ a: 1, b: 'x' }, { s: 'y' }])).toThrow('u: union U takes exactly one field, got a, b (fields: a, b)');
    expect(() => checkArguments(fn, [{}, { s: 'y' }])).toThrow('u: union U takes exactly one field, got none (fields: a, b)');
    expect(() => checkArguments(fn, [{ a: 1 }, {}])).toThrow('r.s: required field of R (string) is missing');
    const checked = checkArguments(fn, [{ b: 'x' }, { s: 'y' }]);
    expect(checked.fields.map(([f, v]) => [f.name, v])).toEqual([
      ['u', { struct: expect.anything(), fields: [[expect.objectContaining({ name: 'b' }), 'x']] }],
      ['r', { struct: expect.anything(), fields: [[expect.objectContaining({ name: 's' }), 'y'], [expect.objectContaining({ name: 'n' }), 7n]] }],
      ['n', 1],
    ]);
  });
});

describe('what a caller sees when the call cannot be made', () => {
  it('an unknown service or method names the nearest ones', () => {
    expect(() => new GenericClient({ idl: model, service: 'ThriftTst', addresses: ['127.0.0.1:1'] })).toThrow(
      'the IDL defines no service ThriftTst (did you mean ThriftTest?) (services: ThriftTest, SecondService)',
    );
    expect(() => client(1).method('testStrng')).toThrow(/^service ThriftTest has no method testStrng \(did you mean testString/);
  });

  it('an unreachable address is named', async () => {
    // One attempt: with retries, the engine reports that no address is left (naming it too).
    await expect(client(1, { retries: 0 }).call('testVoid')).rejects.toMatchObject({
      code: 'ERR_CONNECT_FAILED',
      message: expect.stringContaining('ThriftTest.testVoid: cannot connect to 127.0.0.1:1'),
    });
  });

  it('a reply in another protocol is not taken for a result', async () => {
    const server = await startThriftTest(files, 'compact', 'buffered');
    cleanups.push(server.close);
    await expect(client(server.port, { protocol: 'binary', retries: 0 }).call('testString', ['x'])).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_(REPLY_DECODE|CONNECTION_CLOSED)$/),
    });
  });
});

function write(): string {
  const file = path.join(files.genDir, '..', 'generic.thrift');
  fs.writeFileSync(
    file,
    'union U { 1: i32 a, 2: string b }\nstruct R { 1: required string s, 2: optional i64 n = 7 }\nservice S { void f(1: U u, 2: R r, 3: i32 n = 1) }\n',
  );
  return file;
}
