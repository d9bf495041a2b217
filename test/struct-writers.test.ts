/**
 * The reply writers compiled from the IDL description (src/codec/struct-writers.ts) write the
 * same bytes as the compiler's generated result classes, on every protocol, for class
 * instances and plain objects alike; and refuse what the generated code would have written
 * as a broken message.
 */
import fs from 'node:fs';
import path from 'node:path';
import thrift from 'thrift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/cli/gen.js';
import { loadGeneratedFile, type MethodInfo } from '../src/codec/generated-service.js';
import { createOutputProtocol } from '../src/codec/output-protocols.js';
import { protocolClass, type ProtocolName } from '../src/codec/protocols.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';

const ROOT = path.resolve(__dirname, '..');
const PROTOCOLS: ProtocolName[] = ['binary', 'compact', 'json'];
const Int64 = thrift.Int64;

let dir: string;
let payload: ReadonlyMap<string, MethodInfo>;
let catalog: ReadonlyMap<string, MethodInfo>;
let types: Record<string, new (args?: unknown) => Record<string, unknown>>;

beforeAll(() => {
  // Inside the project, so the generated code resolves the `thrift` package.
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  dir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'struct-writers-'));
  fs.mkdirSync(path.join(dir, 'idl'));
  fs.copyFileSync(path.join(ROOT, 'bench/idl/Payload.thrift'), path.join(dir, 'idl/Payload.thrift'));
  fs.copyFileSync(path.join(ROOT, 'idl/Catalog.thrift'), path.join(dir, 'idl/Catalog.thrift'));
  generate({ idlDir: path.join(dir, 'idl'), outDir: path.join(dir, 'gen') });
  payload = loadGeneratedFile(path.join(dir, 'gen/Payload/Payload.js'), 'Payload').methods;
  catalog = loadGeneratedFile(path.join(dir, 'gen/Catalog/Catalog.js'), 'Catalog').methods;
  types = require(path.join(dir, 'gen/Catalog/Catalog_types.js'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The bytes of a REPLY message whose body is `write(output)`, in one protocol. */
function bytes(protocol: ProtocolName, write: (output: unknown) => void): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const writer = new WriteBuffer(false, (m) => (out = m));
  const output = createOutputProtocol(protocolClass(protocol), writer);
  output.writeMessageBegin('m', thrift.Thrift.MessageType.REPLY, 1);
  write(output);
  output.writeMessageEnd();
  output.flush();
  return out;
}

/** Bytes of the compiled writer and of the generated result class, for the same value. */
function both(info: MethodInfo, protocol: ProtocolName, value: unknown): { compiled: Buffer; generated: Buffer } {
  expect(info.writeResult, `${info.name} has a compiled writer`).toBeTypeOf('function');
  return {
    compiled: bytes(protocol, (o) => info.writeResult!(o, value)),
    generated: bytes(protocol, (o) => new info.Result({ success: value }).write(o)),
  };
}

function item(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: new Int64(1234567890123),
    title: 'Dune — ünïcode',
    category: 2,
    price: 9.5,
    tags: ['a', 'b', ''],
    stock: { north: 3, south: -1 },
    related: [new Int64(7), new Int64(-8)],
    thumbnail: Buffer.from([0, 1, 2, 255]),
    active: false,
    ...overrides,
  };
}

describe('compiled reply writers', () => {
  const cases: [string, () => ReadonlyMap<string, MethodInfo>, string, () => unknown][] = [
    ['list<i32>', () => payload, 'echoList', () => Array.from({ length: 1000 }, (_, i) => i * 7919 - 3_000_000)],
    ['empty list', () => payload, 'echoList', () => []],
    ['64 KiB string', () => payload, 'echoString', () => 'x'.repeat(65536) + 'é'],
    ['small struct, plain object', () => payload, 'echoSmall', () => ({ id: 1, name: 'n', active: true, score: 0.25, stamp: 99 })],
    ['small struct with unset fields', () => payload, 'echoSmall', () => ({ id: 1 })],
    [
      'nested maps of structs (testInsanity shape)',
      () => payload,
      'insanity',
      () => ({
        1: { 2: { userMap: { 5: 5, 8: 8 }, xtructs: [{ string_thing: 'Goodbye4', byte_thing: 4, i32_thing: 4, i64_thing: 4 }] } },
        2: { 6: { userMap: {}, xtructs: [] } },
      }),
    ],
    ['struct with every type, plain object', () => catalog, 'get', () => item()],
    ['struct with every type, class instance', () => catalog, 'get', () => new types.Item!(item())],
    ['defaults filled in for a plain object', () => catalog, 'get', () => ({ id: 1, title: 't' })],
    ['list of structs', () => catalog, 'find', () => [item(), item({ tags: [] }), new types.Item!(item({ id: 5 }))]],
    ['map<string, list<i64>>', () => catalog, 'index', () => ({ a: [1, 2, new Int64(3)], b: [] })],
    ['i64 result as a number', () => catalog, 'put', () => 2 ** 40],
    ['void', () => catalog, 'ping', () => undefined],
  ];
  for (const [what, methods, method, value] of cases) {
    it(`writes the generated code's bytes: ${what}, every protocol`, () => {
      for (const protocol of PROTOCOLS) {
        const { compiled, generated } = both(methods().get(method)!, protocol, value());
        expect(compiled.equals(generated), `${protocol}: ${compiled.toString('hex').slice(0, 80)}`).toBe(true);
      }
    });
  }

  it("writes a call's arguments as the generated args class does, every protocol", () => {
    const calls: [ReadonlyMap<string, MethodInfo>, string, Record<string, unknown>][] = [
      [catalog, 'put', { item: item() }],
      [catalog, 'put', { item: new types.Item!(item()) }],
      [catalog, 'index', { tags: ['a', 'b'] }],
      [catalog, 'find', { query: 'q', limit: 10 }],
      [catalog, 'find', { query: 'q' }],
      [catalog, 'ping', {}],
      [catalog, 'touch', { id: new Int64(5) }],
      [payload, 'echoList', { values: [1, 2, 3] }],
      [payload, 'insanity', { argument: { userMap: { 1: 2 }, xtructs: [{ string_thing: 's' }] } }],
    ];
    for (const [methods, method, args] of calls) {
      const info = methods.get(method)!;
      expect(info.writeArgs, `${method} has a compiled args writer`).toBeTypeOf('function');
      for (const protocol of PROTOCOLS) {
        const compiled = bytes(protocol, (o) => info.writeArgs!(o, args));
        const generated = bytes(protocol, (o) => new info.Args(args).write(o));
        expect(compiled.equals(generated), `${method} ${protocol}`).toBe(true);
      }
    }
  });

  it('decodes back to the value with the generated reader', () => {
    const info = catalog.get('get')!;
    const buf = bytes('compact', (o) => info.writeResult!(o, item()));
    const input = new thrift.TCompactProtocol(new thrift.TFramedTransport(buf));
    input.readMessageBegin();
    const result = new info.Result();
    result.read(input);
    expect(result.success.title).toBe('Dune — ünïcode');
    expect(String(result.success.related[1])).toBe('-8');
    expect(result.success.stock).toEqual({ north: 3, south: -1 });
  });

  it('takes a Map for a map and a Set for a set, as the same bytes as plain object and array', () => {
    const get = catalog.get('get')!;
    for (const protocol of PROTOCOLS) {
      const plain = bytes(protocol, (o) => get.writeResult!(o, item({ stock: { x: 1, y: 2 }, related: [3, 4] })));
      const native = bytes(protocol, (o) =>
        get.writeResult!(o, item({ stock: new Map([['x', 1], ['y', 2]]), related: new Set([3, 4]) })),
      );
      expect(native.equals(plain), protocol).toBe(true);
    }
    const index = catalog.get('index')!;
    const viaMap = bytes('binary', (o) => index.writeResult!(o, new Map([['k', [1]]])));
    expect(viaMap.equals(bytes('binary', (o) => index.writeResult!(o, { k: [1] })))).toBe(true);
  });

  it('refuses an unset required field, naming the struct and the field', () => {
    const get = catalog.get('get')!;
    expect(() => bytes('binary', (o) => get.writeResult!(o, new types.Item!()))).toThrow(
      /field 'id' of Item is required but unset/,
    );
    expect(() => bytes('binary', (o) => get.writeResult!(o, { ...item(), title: null }))).toThrow(/title/);
  });

  it('refuses a hole or undefined in a list, and a non-object where a struct is declared', () => {
    const echoList = payload.get('echoList')!;
    // eslint-disable-next-line no-sparse-arrays
    expect(() => bytes('binary', (o) => echoList.writeResult!(o, [1, , 3]))).toThrow(TypeError);
    expect(() => bytes('binary', (o) => echoList.writeResult!(o, 'not a list'))).toThrow(/expected an array/);
    const find = catalog.get('find')!;
    expect(() => bytes('binary', (o) => find.writeResult!(o, [item(), 42]))).toThrow(/expected a struct/);
  });

  it('names the field of a wrong-typed value, as the checked protocols do', () => {
    const echoSmall = payload.get('echoSmall')!;
    expect(() => bytes('binary', (o) => echoSmall.writeResult!(o, { id: 'seven' }))).toThrow(/field 'id'/);
    expect(() => bytes('compact', (o) => echoSmall.writeResult!(o, { id: 1, stamp: 'abc' }))).toThrow(/field 'stamp'/);
  });

  it('is absent without the IDL description, so the generated result class is used', () => {
    const bare = path.join(dir, 'bare');
    fs.cpSync(path.join(dir, 'gen/Payload'), bare, { recursive: true });
    fs.rmSync(path.join(bare, 'Payload.json'));
    const methods = loadGeneratedFile(path.join(bare, 'Payload.js'), 'Payload').methods;
    expect(methods.get('echoList')!.writeResult).toBeUndefined();
    expect(payload.get('echoList')!.writeResult).toBeTypeOf('function');
  });
});
