/**
 * `defineHandler<ServiceHandler>({...})`: types a handler object against the interface `rpc gen`
 * generates for its service, so a missing method, a wrong argument or a wrong result type fails
 * `tsc` instead of the start. The same check without an import: `{...} satisfies ServiceHandler`.
 */

/**
 * Returns `handler` unchanged; its only work is at compile time.
 *
 * @example
 * import { defineHandler } from 'thrifthost';
 * import type { CatalogHandler } from '../../gen/Catalog/Catalog.js';
 * export const CatalogHandler = defineHandler<CatalogHandler>({
 *   async get(id) { return { id, title: 'x' }; },
 *   // ...every other method of the IDL
 * });
 */
export function defineHandler<H extends object>(handler: H): H {
  return handler;
}
