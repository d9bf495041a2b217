/**
 * Test helper: every ThriftTest method called with JSON-form arguments, and what the thrifthost
 * ThriftTest handler (test/fixtures/handlers/thrift-test.cjs) answers in the JSON form. Shared
 * by the GenericClient test (all of them, every protocol and transport) and the `rpc call` test.
 */

/** One call and its expected outcome. */
export interface ThriftTestCall {
  method: string;
  /** By argument name, or in order. */
  args: Record<string, unknown> | unknown[];
  /** The JSON-form result (undefined for void and oneway). */
  result?: unknown;
  /** A declared exception: its type name and value. */
  exception?: { exception: string; value: unknown };
  /** A TApplicationException type. */
  applicationError?: number;
}

const BYTES_0_255 = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');
const XTRUCT = { string_thing: 'thing', byte_thing: 42, i32_thing: 4242, i64_thing: 424242 };
const INSANITY = {
  userMap: { FIVE: 5, EIGHT: '9007199254740993' },
  xtructs: [
    { string_thing: 'Goodbye4', byte_thing: 4, i32_thing: 4, i64_thing: 4 },
    { string_thing: 'Hello2', byte_thing: 2, i32_thing: 2, i64_thing: 2 },
  ],
};

/** In the order Apache's TestClient calls them. */
export const THRIFT_TEST_CALLS: readonly ThriftTestCall[] = [
  { method: 'testVoid', args: {}, result: undefined },
  { method: 'testString', args: { thing: 'Ünïcödé ∑ 日本語 🚀' }, result: 'Ünïcödé ∑ 日本語 🚀' },
  { method: 'testString', args: [''], result: '' },
  { method: 'testBool', args: [true], result: true },
  { method: 'testBool', args: { thing: false }, result: false },
  { method: 'testByte', args: [-128], result: -128 },
  { method: 'testI32', args: [-(2 ** 31)], result: -(2 ** 31) },
  { method: 'testI64', args: [424242], result: 424242 },
  // Past 2^53 an i64 travels as a decimal string, both ways.
  { method: 'testI64', args: ['-9223372036854775808'], result: '-9223372036854775808' },
  { method: 'testI64', args: ['9223372036854775807'], result: '9223372036854775807' },
  { method: 'testI64', args: ['123'], result: 123 },
  { method: 'testDouble', args: [-5.25e-300], result: -5.25e-300 },
  { method: 'testDouble', args: ['-Infinity'], result: '-Infinity' },
  { method: 'testBinary', args: [BYTES_0_255], result: BYTES_0_255 },
  { method: 'testBinary', args: [{ utf8: 'hi' }], result: 'aGk=' },
  { method: 'testBinary', args: [{ hex: '00ff' }], result: 'AP8=' },
  { method: 'testStruct', args: { thing: XTRUCT }, result: XTRUCT },
  {
    method: 'testNest',
    args: { thing: { byte_thing: 1, struct_thing: XTRUCT, i32_thing: 5 } },
    result: { byte_thing: 1, struct_thing: XTRUCT, i32_thing: 5 },
  },
  { method: 'testMap', args: [{ 1: 2, '-7': -8 }], result: { 1: 2, '-7': -8 } },
  // [key, value] pairs are accepted for any map.
  { method: 'testMap', args: [[[3, 4]]], result: { 3: 4 } },
  { method: 'testStringMap', args: [{ a: '2', 'b c': 'blah' }], result: { a: '2', 'b c': 'blah' } },
  { method: 'testSet', args: [[1, 2, 42]], result: [1, 2, 42] },
  { method: 'testList', args: [[1, 2, 42, -3]], result: [1, 2, 42, -3] },
  { method: 'testEnum', args: ['EIGHT'], result: 'EIGHT' },
  { method: 'testEnum', args: [2], result: 'TWO' },
  { method: 'testEnum', args: ['Numberz.FIVE'], result: 'FIVE' },
  // A value no member has comes back as its number.
  { method: 'testEnum', args: [7], result: 7 },
  { method: 'testTypedef', args: ['1099511627818'], result: 1099511627818 },
  {
    method: 'testMapMap',
    args: [42],
    result: { '-4': { '-4': -4, '-3': -3, '-2': -2, '-1': -1 }, 4: { 1: 1, 2: 2, 3: 3, 4: 4 } },
  },
  {
    method: 'testInsanity',
    args: { argument: INSANITY },
    result: { 1: { TWO: INSANITY, THREE: INSANITY }, 2: { SIX: {} } },
  },
  {
    method: 'testMulti',
    args: [42, 4242, '424242', { 1: 'blah', 2: 'thing' }, 'EIGHT', 24],
    result: { string_thing: 'Hello2', byte_thing: 42, i32_thing: 4242, i64_thing: 424242 },
  },
  { method: 'testException', args: ['Xception'], exception: { exception: 'Xception', value: { errorCode: 1001, message: 'Xception' } } },
  // Not declared: the host answers INTERNAL_ERROR (6).
  { method: 'testException', args: ['TException'], applicationError: 6 },
  { method: 'testException', args: ['success'], result: undefined },
  {
    method: 'testMultiException',
    args: ['Xception', 'ignoreme'],
    exception: { exception: 'Xception', value: { errorCode: 1001, message: 'This is an Xception' } },
  },
  {
    method: 'testMultiException',
    args: ['Xception2', 'ignoreme'],
    exception: { exception: 'Xception2', value: { errorCode: 2002, struct_thing: { string_thing: 'This is an Xception2' } } },
  },
  { method: 'testMultiException', args: { arg0: 'Normal', arg1: 'hello' }, result: { string_thing: 'hello' } },
  { method: 'testOneway', args: [1], result: undefined },
  { method: 'testString', args: ['after oneway'], result: 'after oneway' },
];
