/**
 * `<file>_types.d.ts`: the declarations of what `<file>_types.js` exports, with the IDL's doc
 * comments. A field's type is what the decoder leaves in it: a `required` field or one with a
 * default is never null after `read()`, any other may be; an enum field has the enum's type;
 * i64 is the generation's one representation (`I64`). Each struct also has `<Name>Init`, the
 * fields its constructor takes and what a handler may return for it (a plain object is fine).
 */
import type { IdlDocument, StructNode } from '../idl/ast.js';
import type { IdlModel } from '../idl/idl-model.js';
import type { ResolvedField, ResolvedStruct } from '../idl/resolved.js';
import { DtsScope, jsDoc } from './dts-scope.js';
import type { I64Mode } from './js-scope.js';

/** `<doc>_types.d.ts`. */
export function dtsTypesModule(model: IdlModel, doc: IdlDocument, mode: I64Mode, header: string): string {
  const scope = new DtsScope(doc, true);
  const body: string[] = [I64_DECLARATIONS[mode]];
  for (const def of doc.definitions) {
    switch (def.kind) {
      case 'enum': {
        const members = def.members.map((m) => `${jsDoc(m.doc, '  ')}  ${m.name} = ${m.value},`);
        body.push(`${jsDoc(def.doc)}export declare enum ${def.name} {\n${members.join('\n')}\n}\n`);
        break;
      }
      case 'typedef':
        body.push(`${jsDoc(def.doc)}export type ${def.name} = ${scope.type(model.resolveType(doc, def.type), 'out')};\n`);
        break;
      case 'const':
        body.push(`${jsDoc(def.doc)}export declare const ${def.name}: ${scope.type(model.resolveType(doc, def.type), 'out')};\n`);
        break;
      case 'service':
        break;
      default:
        body.push(structDeclarations(model.struct(doc, def as StructNode), scope));
    }
  }
  const imports = scope.importLines();
  return header + (imports.length ? `${imports.join('\n')}\n\n` : '') + body.join('\n');
}

/** The type a decoded field or argument has: null where the data may leave it out. */
export function decodedType(f: Pick<ResolvedField, 'type' | 'requiredness' | 'defaultValue'>, scope: DtsScope): string {
  const type = scope.type(f.type, 'out');
  return f.requiredness === 'required' || f.defaultValue !== undefined ? type : `${type} | null`;
}

/** A property name as TypeScript accepts it. */
export function propertyName(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

// --- internal ---

const I64_DECLARATIONS: Record<I64Mode, string> = {
  bigint: `/** An i64 value: this code was generated with \`rpc gen --i64 bigint\`. */
export type I64 = bigint;
`,
  int64: `/** An i64 as node-int64 represents it (\`rpc gen --i64 int64\`): \`thrift.toBigInt(v)\` gives the bigint. */
export interface Int64 {
  readonly buffer: Buffer;
  /** The value as a number; \`allowImprecise\` false gives Infinity beyond 2^53. */
  toNumber(allowImprecise?: boolean): number;
  /** Hex digits of the 8 bytes. */
  toOctetString(): string;
}

/** An i64 value: this code was generated with \`rpc gen --i64 int64\`. */
export type I64 = Int64;
`,
};

/** Error's own members an exception field could redeclare. */
const ERROR_MEMBERS = ['message', 'name', 'stack'];

function structDeclarations(s: ResolvedStruct, scope: DtsScope): string {
  const fields = s.fields.map((f) => `${jsDoc(f.node.doc, '  ')}  ${propertyName(f.name)}: ${decodedType(f, scope)};`);
  let base = '';
  if (s.kind === 'exception') {
    // An exception is an Error when what it decodes into fits Error's members; else it says what it holds.
    const clash = s.fields.filter((f) => ERROR_MEMBERS.includes(f.name) && decodedType(f, scope) !== 'string');
    if (clash.length === 0) base = ' extends Error';
    else {
      const own = ERROR_MEMBERS.filter((m) => !s.fields.some((f) => f.name === m));
      fields.unshift(...own.map((m) => (m === 'stack' ? '  stack?: string;' : `  ${m}: string;`)));
    }
  }
  const required = s.fields.some((f) => f.requiredness === 'required');
  const init = `${s.name}Init`;
  const lines = [
    `${jsDoc(s.node.doc)}export declare class ${s.name}${base} {`,
    ...fields,
    `  constructor(args${required ? '' : '?'}: ${init});`,
    '  read(input: unknown): void;',
    '  write(output: unknown): void;',
    `  /** A new ${s.name} read from \`input\`. */`,
    `  static read(input: unknown): ${s.name};`,
    `  /** Writes an instance or a plain object of the fields (IDL defaults fill what it leaves unset). */`,
    `  static write(output: unknown, value: ${scope.structIn(s)}, where?: string): void;`,
    '}',
    '',
    jsDoc(undefined, '', [`The fields of ${s.name}: what its constructor takes, and what may be written where one goes.`]) +
      `export ${initType(s, scope)}`,
  ];
  return lines.join('\n');
}

function initType(s: ResolvedStruct, scope: DtsScope): string {
  const init = `${s.name}Init`;
  // No field: an object with no keys (an empty interface would take any value, a number too).
  if (s.fields.length === 0) return `type ${init} = { readonly [key: string]: never };\n`;
  if (s.kind === 'union') {
    // Exactly one member set: the generated code refuses two, and a peer reads one.
    const variants = s.fields.map((chosen) => {
      const props = s.fields.map((f) =>
        f === chosen ? `${propertyName(f.name)}: ${scope.type(f.type, 'in')}` : `${propertyName(f.name)}?: null`,
      );
      return `  | { ${props.join('; ')} }`;
    });
    return `type ${init} =\n${variants.join('\n')};\n`;
  }
  const props = s.fields.map((f) => {
    const optional = f.requiredness !== 'required';
    return `${jsDoc(f.node.doc, '  ')}  ${propertyName(f.name)}${optional ? '?' : ''}: ${scope.type(f.type, 'in')}${optional ? ' | null' : ''};`;
  });
  return `interface ${init} {\n${props.join('\n')}\n}\n`;
}
