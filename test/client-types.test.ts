// The instance types derived from the generated `.d.ts`. The type assertions here fail
// `npx tsc -p tsconfig.test.json` (part of `npm test`); the runtime ones check the object shape.
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type ServiceProxy, ThriftClient, type UntypedServiceProxy } from '../clients/index.js';
import { GEN_DIR } from './helpers/servers.js';

type Hello = import('../gen/HelloWorld/HelloWorld.js').Client;
type Catalog = import('../gen/Catalog/Catalog.js').Client;
type Item = import('../gen/Catalog/Catalog_types.js').Item;

// Registering a service name once types `instance('Catalog')` everywhere, without a type argument.
declare module '../clients/client-types.js' {
  interface ThriftServiceMap {
    Catalog: Catalog;
  }
}

afterEach(() => ThriftClient.reset());

describe('instance types', () => {
  it('are the Promise overloads of the generated client, plus asend_/arecv_', () => {
    ThriftClient.config({
      HelloWorld: { addresses: ['127.0.0.1:9'], serviceDir: GEN_DIR, shareState: false },
    });
    const hello = ThriftClient.instance<Hello>('HelloWorld');
    expectTypeOf(hello).toEqualTypeOf<ServiceProxy<Hello>>();
    expectTypeOf(hello.sayHello).parameters.toEqualTypeOf<[name: string]>();
    expectTypeOf(hello.sayHello).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(hello.asend_sayHello).toEqualTypeOf<(name: string) => void>();
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

  it('falls back to an untyped shape without a type argument', () => {
    ThriftClient.config({
      HelloWorld: { addresses: ['127.0.0.1:9'], serviceDir: GEN_DIR, shareState: false },
    });
    const untyped = ThriftClient.instance('HelloWorld');
    expectTypeOf(untyped).toEqualTypeOf<UntypedServiceProxy>();
    expect(typeof untyped.sayHello).toBe('function');
  });
});
