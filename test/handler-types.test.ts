// The handler interfaces `rpc gen` writes into gen/<Name>/<Service>.d.ts. The assertions here
// fail `npx tsc -p tsconfig.test.json` (part of `npm test`): a handler missing a method, taking a
// wrong argument type or returning a wrong result type does not compile.
import thrift from 'thrift';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CatalogHandler } from '../gen/Catalog/Catalog.js';
import { type Int64, Item, NotFound } from '../gen/Catalog/Catalog_types.js';
import type { HelloWorldHandler } from '../gen/HelloWorld/HelloWorld.js';
import { defineHandler } from '../src/index.js';

describe('generated handler types', () => {
  it('type each method with its IDL arguments as decoded and a value or Promise result; void for oneway', () => {
    // Arguments that are not `required` arrive as null when a caller leaves them out.
    expectTypeOf<HelloWorldHandler['sayHello']>().parameters.toEqualTypeOf<[name: string | null]>();
    expectTypeOf<HelloWorldHandler['sayHello']>().returns.toEqualTypeOf<string | Promise<string>>();
    expectTypeOf<CatalogHandler['touch']>().returns.toEqualTypeOf<void | Promise<void>>();
    expectTypeOf<CatalogHandler['get']>().parameters.toEqualTypeOf<[id: Int64 | null]>();
    expectTypeOf<CatalogHandler['add']>().returns.toEqualTypeOf<Int64 | Promise<Int64>>();
    // A list of structs may be a list of plain objects.
    expectTypeOf<{ id: Int64; title: string }[]>().toExtend<ReturnType<CatalogHandler['find']>>();
  });

  it('accept a complete handler through defineHandler or satisfies, and reject incomplete or mistyped ones', () => {
    const hello = defineHandler<HelloWorldHandler>({ sayHello: async (name) => `Hello ${name}` });
    expect(typeof hello.sayHello).toBe('function');
    const viaSatisfies = { sayHello: (name: string | null) => name ?? '' } satisfies HelloWorldHandler;
    expect(viaSatisfies.sayHello('a')).toBe('a');

    // @ts-expect-error a handler missing a method of the IDL
    defineHandler<HelloWorldHandler>({});
    // @ts-expect-error a result of the wrong type
    defineHandler<HelloWorldHandler>({ sayHello: async () => 42 });
    // @ts-expect-error an argument typed as never null, which it can be
    void ({ sayHello: (name: string) => name } satisfies HelloWorldHandler);

    // A struct result may be the generated class or a plain object of its fields; declared
    // exceptions are generated classes.
    const id = thrift.fromBigInt(5n);
    const partial: Pick<CatalogHandler, 'get' | 'add'> = {
      get: (x) => (x ? { id: x, title: 't' } : Promise.reject(new NotFound({ id, message: 'none' }))),
      add: (a, b) => thrift.fromBigInt(thrift.toBigInt(a!) + thrift.toBigInt(b!)),
    };
    expect(typeof partial.get).toBe('function');
    expect(new Item({ id, title: 't' }).title).toBe('t');
    expect(new NotFound({ id })).toBeInstanceOf(Error);
  });
});
