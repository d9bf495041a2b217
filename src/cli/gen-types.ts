/**
 * TypeScript declarations for generated code, written by `rpc gen` from the compiler's JSON
 * description of an IDL (`thrift --gen json`) instead of the compiler's own `ts` output, which
 * leans on typings of the `thrift` and `node-int64` packages that a project may not have.
 * Ours are self-contained (Node's `Buffer` aside): per IDL `<Name>_types.d.ts` (enums,
 * constants, structs, exceptions), per service `<Service>.d.ts` (the `Client` class that
 * `ThriftClient.instance()` is typed from, and `<Service>Handler`, the interface a handler
 * implements), and `services.d.ts`, the map that types `ThriftClient.instance('<Service>')`.
 *
 * Every type takes `M extends I64Mode = 'int64'`: `i64` is node-int64's `Int64` by default and
 * `bigint` with `'bigint'` (the per-service `i64` option), e.g. `CatalogHandler<'bigint'>`.
 */

/** The part of `thrift --gen json` output read here. */
export interface IdlJson {
  name: string;
  enums: { name: string; members: { name: string; value: number }[] }[];
  structs: { name: string; isException: boolean; isUnion: boolean; fields: IdlField[] }[];
  constants: { name: string; typeId: string; type?: IdlType }[];
  services: { name: string; functions: IdlFunction[] }[];
}

/** A type as the JSON generator describes it (typedefs resolved, enums as i32). */
export interface IdlType {
  typeId: string;
  type?: IdlType;
  class?: string;
  elemTypeId?: string;
  elemType?: IdlType;
  keyTypeId?: string;
  keyType?: IdlType;
  valueTypeId?: string;
  valueType?: IdlType;
}

/** A struct field or method argument. */
export interface IdlField extends IdlType {
  key: number;
  name: string;
  required: 'required' | 'optional' | 'req_out';
  default?: unknown;
}

/** A service method. */
export interface IdlFunction {
  name: string;
  returnTypeId: string;
  returnType?: IdlType;
  oneway: boolean;
  arguments: IdlField[];
}

/** Declarations of one IDL file: `<Name>_types.d.ts`, and `<Service>.d.ts` per service. */
export interface IdlDeclarations {
  types: string;
  services: { name: string; dts: string }[];
}

/** Renders the declarations of one IDL. */
export function renderDeclarations(idl: IdlJson): IdlDeclarations {
  const typesModule = `./${idl.name}_types.js`;
  const types = [HEADER, I64_DECLARATIONS];
  for (const e of idl.enums) {
    types.push(`export declare enum ${e.name} {\n${e.members.map((m) => `  ${m.name} = ${m.value},`).join('\n')}\n}\n`);
  }
  for (const c of idl.constants) {
    types.push(`export declare const ${c.name}: ${tsType(c.type ?? c, 'out', '')};\n`);
  }
  for (const s of idl.structs) types.push(renderStruct(s));

  const services = idl.services.map((service) => {
    const names = referencedClasses(service.functions);
    const imports = [
      `import type { I64, I64Mode${names.length ? `, ${names.join(', ')}` : ''} } from '${typesModule}';`,
      `export type { I64, I64Mode, Int64 } from '${typesModule}';`,
    ];
    const client = service.functions.map(
      (f) => `  ${f.name}(${params(f.arguments, 'in')}): Promise<${returnType(f, 'out')}>;`,
    );
    const handler = service.functions.map((f) => {
      const r = returnType(f, 'in', true);
      return `  ${f.name}(${params(f.arguments, 'out')}): ${r} | Promise<${r}>;`;
    });
    const dts = `${HEADER}${imports.join('\n')}

/** The client of ${service.name}: what \`ThriftClient.instance('${service.name}')\` is typed from. */
export declare class Client<M extends I64Mode = 'int64'> {
  constructor(output: unknown, protocol: unknown);
${client.join('\n')}
}

/** The Apache Thrift processor of ${service.name}. */
export declare class Processor {
  constructor(handler: object);
  process(input: unknown, output: unknown): void;
}

/**
 * What a ${service.name} handler implements: every method with its arguments as decoded and its
 * result as a value or a Promise (\`void\` for oneway methods). \`M\` = 'bigint' types i64 as bigint.
 * @example
 * import type { ${service.name}Handler } from './gen/${idl.name}/${service.name}.js';
 * export default { ... } satisfies ${service.name}Handler;
 */
export interface ${service.name}Handler<M extends I64Mode = 'int64'> {
${handler.join('\n')}
}
`;
    return { name: service.name, dts };
  });
  return { types: types.join('\n'), services };
}

/**
 * `services.d.ts` of a generated-code folder: the services map, merged into thrifthost's
 * `ThriftServiceMap`, so `ThriftClient.instance('<Service>')` is typed and a misspelt name fails.
 * @param services every service with the folder (relative to genDir) holding its `<Service>.d.ts`
 */
export function renderServicesMap(services: { name: string; dir: string }[]): string {
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name));
  const imports = sorted.map((s) => `import type { Client as ${s.name}Client } from './${s.dir}/${s.name}.js';`);
  const entries = sorted.map((s) => `  ${s.name}: ${s.name}Client;`);
  return `${HEADER}${imports.join('\n')}

/** Every service generated into this folder, by name, as its generated client type. */
export interface ThriftServices {
${entries.join('\n')}
}

declare module 'thrifthost/client' {
  interface ThriftServiceMap extends ThriftServices {}
}
`;
}

// --- internal ---

const HEADER = '// Generated by `rpc gen` (thrifthost) from the IDL. Do not edit: run `rpc gen` again.\n\n';

const I64_DECLARATIONS = `/** An i64 as the \`thrift\` library decodes it: a node-int64 \`Int64\`. */
export interface Int64 {
  readonly buffer: Buffer;
  /** The value as a number; \`allowImprecise\` false gives Infinity beyond 2^53. */
  toNumber(allowImprecise?: boolean): number;
  /** Hex digits of the 8 bytes. */
  toOctetString(): string;
}

/** How i64 values are represented: node-int64 \`Int64\` (default) or \`bigint\`. */
export type I64Mode = 'int64' | 'bigint';

/** The i64 type of mode \`M\`. */
export type I64<M extends I64Mode = 'int64'> = M extends 'bigint' ? bigint : Int64;
`;

/** `in`: what thrifthost accepts (an i64 may also be a safe-integer number); `out`: what it hands over. */
type Direction = 'in' | 'out';

function renderStruct(s: IdlJson['structs'][number]): string {
  const fields = s.fields.map((f) => {
    const name = safeName(f.name);
    const present = f.required === 'required' || f.default !== undefined;
    let type = tsType(f, 'out', 'M');
    // An exception extends Error: a field named like Error's own keeps Error's type.
    if (s.isException && (f.name === 'message' || f.name === 'name')) type = 'string';
    else if (!present) type = `${type} | null`;
    return `  ${name}: ${type};`;
  });
  const args = s.fields.map((f) => {
    const opt = f.required === 'required' ? '' : '?';
    return `  ${safeName(f.name)}${opt}: ${tsType(f, 'in', 'M')}${opt ? ' | null' : ''};`;
  });
  const base = s.isException ? ' extends Error' : '';
  return `/** Fields accepted by the constructor of ${s.name}. */
export interface ${s.name}Args<M extends I64Mode = 'int64'> {
${args.join('\n')}
}

export declare class ${s.name}<M extends I64Mode = 'int64'>${base} {
${fields.join('\n')}
  constructor(args?: ${s.name}Args<M>);
  read(input: unknown): void;
  write(output: unknown): void;
}
`;
}

function params(args: IdlField[], dir: Direction): string {
  return args.map((a) => `${RESERVED.has(a.name) ? `${a.name}_` : a.name}: ${tsType(a, dir, 'M')}`).join(', ');
}

/** A method's result type; a handler may return a struct result as a plain object of its fields. */
function returnType(f: IdlFunction, dir: Direction, handler = false): string {
  if (f.returnTypeId === 'void') return 'void';
  const t = f.returnType ?? { typeId: f.returnTypeId };
  const ts = tsType(t, dir, 'M');
  return handler && t.typeId === 'struct' && t.class ? `${ts} | ${className(t.class)}Args<M>` : ts;
}

function tsType(t: IdlType, dir: Direction, mode: string): string {
  // A field or argument carries its full type (class, element types) in `type`.
  if (t.type) return tsType(t.type, dir, mode);
  const m = mode ? `<${mode}>` : '';
  switch (t.typeId) {
    case 'bool':
      return 'boolean';
    case 'i8':
    case 'byte':
    case 'i16':
    case 'i32':
    case 'double':
      return 'number';
    case 'i64':
      return dir === 'in' ? `I64${m} | number` : `I64${m}`;
    case 'string':
      return 'string';
    case 'binary':
      return 'Buffer';
    case 'list':
    case 'set': {
      const elem = tsType(t.elemType ?? { typeId: t.elemTypeId ?? 'unknown' }, dir, mode);
      return `Array<${elem}>`;
    }
    case 'map': {
      const value = tsType(t.valueType ?? { typeId: t.valueTypeId ?? 'unknown' }, dir, mode);
      return `{ [key: string]: ${value} }`;
    }
    case 'struct':
    case 'union':
    case 'exception':
      return t.class ? `${className(t.class)}${m}` : 'unknown';
    default:
      return 'unknown';
  }
}

/** Struct classes named by a service's methods (imported into `<Service>.d.ts`). */
function referencedClasses(functions: IdlFunction[]): string[] {
  const found = new Set<string>();
  const visit = (t: IdlType | undefined, handlerResult = false): void => {
    if (!t) return;
    if (t.class) {
      found.add(className(t.class));
      if (handlerResult) found.add(`${className(t.class)}Args`);
    }
    visit(t.type);
    visit(t.elemType);
    visit(t.keyType);
    visit(t.valueType);
  };
  for (const f of functions) {
    for (const a of f.arguments) visit(a);
    visit(f.returnType, true);
  }
  return [...found].sort();
}

/** `Item`, or `Item` of an included IDL (`shared.Item`): included types share the folder. */
function className(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

const RESERVED = new Set(['default', 'class', 'function', 'delete', 'new', 'in', 'typeof', 'void', 'with']);

function safeName(name: string): string {
  return RESERVED.has(name) ? `'${name}'` : name;
}
