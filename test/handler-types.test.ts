// The handler interfaces `rpc gen` writes into gen/<Name>/<Service>.d.ts. The assertions here
// fail `npx tsc -p tsconfig.test.json` (part of `npm test`): a handler missing a method, taking a
// wrong argument type or returning a wrong result type does not compile.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CatalogHandler } from '../gen/Catalog/Catalog.js';
import { type Int64, Item, NotFound } from '../gen/Catalog/Catalog_types.js';
import type { HelloWorldHandler } from '../gen/HelloWorld/HelloWorld.js';
import { defineHandler } from '../src/index.js';

describe('generated handler types', () => {
  it('type each method with its IDL arguments and a value or Promise result; void for oneway', () => {
    expectTypeOf<HelloWorldHandler['sayHello']>().parameters.toEqualTypeOf<[name: string]>();
    expectTypeOf<HelloWorldHandler['sayHello']>().returns.toEqualTypeOf<string | Promise<string>>();
    expectTypeOf<CatalogHandler['touch']>().returns.toEqualTypeOf<void | Promise<void>>();
    expectTypeOf<CatalogHandler['get']>().parameters.toEqualTypeOf<[id: Int64]>();
    expectTypeOf<CatalogHandler<'bigint'>['get']>().parameters.toEqualTypeOf<[id: bigint]>();
    expectTypeOf<CatalogHandler<'bigint'>['add']>().returns.toEqualTypeOf<
      bigint | number | Promise<bigint | number>
    >();
  });

  it('accept a complete handler through defineHandler or satisfies, and reject incomplete or mistyped ones', () => {
    const hello = defineHandler<HelloWorldHandler>({ sayHello: async (name) => `Hello ${name}` });
    expect(typeof hello.sayHello).toBe('function');
    const viaSatisfies = { sayHello: (name: string) => name } satisfies HelloWorldHandler;
    expect(viaSatisfies.sayHello('a')).toBe('a');

    // @ts-expect-error a handler missing a method of the IDL
    defineHandler<HelloWorldHandler>({});
    // @ts-expect-error a result of the wrong type
    defineHandler<HelloWorldHandler>({ sayHello: async () => 42 });
    // @ts-expect-error an argument of the wrong type
    void ({ sayHello: (name: number) => String(name) } satisfies HelloWorldHandler);

    // A struct result may be the generated class or a plain object of its fields; declared
    // exceptions are generated classes extending Error.
    const partial: Pick<CatalogHandler<'bigint'>, 'get' | 'add'> = {
      get: (id) => (id > 0n ? { id, title: 't' } : Promise.reject(new NotFound<'bigint'>({ id, message: 'none' }))),
      add: (a, b) => a + b,
    };
    expect(typeof partial.get).toBe('function');
    expect(new Item({ id: 1, title: 't' }).title).toBe('t');
    expect(new NotFound({ id: 1 })).toBeInstanceOf(Error);
  });
});
