// The instance types derived from the generated `.d.ts`. The type assertions here fail
// `npx tsc -p tsconfig.test.json` (part of `npm test`); the runtime ones check the object shape.
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type ServiceProxy, ThriftClient } from '../clients/index.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;
type Catalog = import('../gen/Catalog/Catalog.js').Client;
type Item = import('../gen/Catalog/Catalog_types.js').Item;
type Int64 = import('../gen/Catalog/Catalog_types.js').Int64;
type NotFound = import('../gen/Catalog/Catalog_types.js').NotFound;
type CatalogExceptions = import('../gen/Catalog/Catalog.js').CatalogExceptions;

// gen/services.d.ts (written by `rpc gen`, part of tsconfig.test.json) registers HelloWorld and
// Catalog in ThriftServiceMap: `instance('Catalog')` is typed everywhere, without a type argument.

afterEach(() => ThriftClient.reset());

describe('instance types', () => {
  it('are the Promise overloads of the generated client, plus asend_/arecv_', () => {
    ThriftClient.config({
      HelloWorld: { addresses: ['127.0.0.1:9'], serviceDir: GEN_DIR, shareState: false },
    });
    const hello = ThriftClient.instance<Hello>('HelloWorld');
    expectTypeOf(hello).toEqualTypeOf<ServiceProxy<Hello>>();
    // An argument that is not `required` may be null: it is then not sent, and the handler gets null.
    expectTypeOf(hello.sayHello).parameters.toEqualTypeOf<[name: string | null]>();
    expectTypeOf(hello.sayHello).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(hello.asend_sayHello).toEqualTypeOf<(name: string | null) => void>();
    expectTypeOf(hello.arecv_sayHello).returns.toEqualTypeOf<Promise<string>>();
    // @ts-expect-error private members of the generated client are not methods
    void hello._seqid;
    // @ts-expect-error wrong argument type
    void (() => hello.sayHello(42));

    expectTypeOf<ServiceProxy<Catalog>['find']>().returns.toEqualTypeOf<Promise<Item[]>>();
    expectTypeOf<ServiceProxy<Catalog>['ping']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<ServiceProxy<Catalog>['arecv_get']>().returns.toEqualTypeOf<Promise<Item>>();

    // Runtime: one function per method and per split half, on a frozen plain object.
    expect(Object.keys(hello).sort()).toEqual(['arecv_sayHello', 'asend_sayHello', 'sayHello']);
    expect(Object.isFrozen(hello)).toBe(true);
  });

  it('takes the type from ThriftServiceMap when the service is registered there', () => {
    ThriftClient.config({ Catalog: { addresses: ['127.0.0.1:9'], serviceDir: GEN_DIR, shareState: false } });
    const catalog = ThriftClient.instance('Catalog');
    expectTypeOf(catalog).toEqualTypeOf<ServiceProxy<Catalog>>();
    expect(typeof catalog.arecv_echo).toBe('function');
  });

  it('rejects a service name missing from the generated services map at compile time', () => {
    ThriftClient.config({
      HelloWorld: { addresses: ['127.0.0.1:9'], serviceDir: GEN_DIR, shareState: false },
    });
    const hello = ThriftClient.instance('HelloWorld');
    expectTypeOf(hello).toEqualTypeOf<ServiceProxy<Hello>>();
    // @ts-expect-error misspelt service name
    expect(() => ThriftClient.instance('HeloWorld')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SERVICE' }));
    // A type argument still types a name the map does not hold (a service generated elsewhere).
    expectTypeOf(() => ThriftClient.instance<Hello>('Other')).returns.toEqualTypeOf<ServiceProxy<Hello>>();
  });

  it('types i64 with the one representation gen/ was generated with, and each method\'s declared exceptions', () => {
    // gen/ holds int64 code (this repository's rpc.config.json says "i64": "int64"); test/codegen-types.test.ts checks bigint.
    expectTypeOf<ServiceProxy<Catalog>['add']>().parameters.toEqualTypeOf<[a: Int64 | null, b: Int64 | null]>();
    expectTypeOf<ServiceProxy<Catalog>['add']>().returns.toEqualTypeOf<Promise<Int64>>();
    expectTypeOf<CatalogExceptions['get']>().toEqualTypeOf<NotFound>();
    expectTypeOf<CatalogExceptions['add']>().toEqualTypeOf<never>();
  });
});
