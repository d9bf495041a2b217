/**
 * The Thrift IDL library: a parser with a documented syntax tree (`ast.ts`), include loading
 * (`idl-loader.ts`), name, typedef and constant resolution (`idl-model.ts`) and the JSON form of
 * values (`json-form.ts`). A pure library: no CLI, no network, no generated code. `rpc call` and
 * `rpc describe` build on it, and so can a code generator.
 *
 * @example
 * import { IdlModel } from 'thrifthost/dist/src/idl/index.js';
 * const model = IdlModel.load('idl/Catalog.thrift');
 * for (const [name, fn] of model.findService('Catalog')[0]!.functions) console.log(name, fn.params.length);
 */
export type * from './ast.js';
export { evaluateConst, shortName, typeName } from './const-values.js';
export { IdlError, IdlIncludeError, IdlParseError, IdlResolveError } from './idl-errors.js';
export { type IdlProgram, loadIdl, loadIdlDir, type LoadIdlOptions } from './idl-loader.js';
export { IdlModel } from './idl-model.js';
export { doubleToJson, i64ToJson, type JsonValue, mapIsObject } from './json-form.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export { parseIdl } from './parser.js';
export type * from './resolved.js';
