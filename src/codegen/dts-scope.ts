/**
 * TypeScript types of resolved IDL types, in the two directions the generated code has:
 * `out`, what the decoder produces (a struct is its class, an i64 is the one i64 type of the
 * generation, a field or argument that can be absent includes `null`), and `in`, what the
 * generated code and thrifthost accept to write (a struct may be a plain object of its fields,
 * a list may be read-only). Each type names the same thing the generated JavaScript holds.
 */
import type { IdlDocument } from '../idl/ast.js';
import type { ResolvedEnum, ResolvedStruct, ResolvedType } from '../idl/resolved.js';
import { objectKeyed } from './js-codec.js';

/** `out`: what the decoder produces; `in`: what may be written. */
export type Direction = 'in' | 'out';

/** Type references and imports of one declaration file. */
export class DtsScope {
  /** Documents whose `_types.d.ts` this file imports, with the namespace name of each. */
  readonly imports = new Map<IdlDocument, string>();

  /**
   * @param local true in `<doc>_types.d.ts` itself, where the document's types are local
   */
  constructor(
    readonly doc: IdlDocument,
    readonly local: boolean,
  ) {}

  /** The name of a type of `doc` here: `Item`, `$types.Item` or `$types_shared.Item`. */
  ref(doc: IdlDocument, name: string): string {
    if (doc === this.doc && this.local) return name;
    let ns = this.imports.get(doc);
    if (!ns) {
      ns = doc === this.doc ? '$types' : `$types_${doc.name.replace(/\W/g, '_')}`;
      this.imports.set(doc, ns);
    }
    return `${ns}.${name}`;
  }

  /** The i64 type of the generation. */
  i64(): string {
    return this.ref(this.doc, 'I64');
  }

  /** `import type` lines for what this file referred to. */
  importLines(): string[] {
    return [...this.imports]
      .sort(([, a], [, b]) => a.localeCompare(b))
      .map(([doc, ns]) => `import type * as ${ns} from './${doc.name}_types.js';`);
  }

  /** The TypeScript type of `type` in direction `dir`. */
  type(type: ResolvedType, dir: Direction): string {
    switch (type.kind) {
      case 'bool':
        return 'boolean';
      case 'i8':
      case 'i16':
      case 'i32':
      case 'double':
        return 'number';
      case 'i64':
        return this.i64();
      case 'string':
      case 'uuid':
        return 'string';
      case 'binary':
        return 'Buffer';
      case 'enum':
        return this.enumRef(type.enum);
      case 'struct':
        return dir === 'out' ? this.structRef(type.struct) : this.structIn(type.struct);
      case 'list':
      case 'set': {
        const element = this.type(type.element, dir);
        return dir === 'out' ? `Array<${element}>` : `ReadonlyArray<${element}>`;
      }
      case 'map': {
        const value = this.type(type.value, dir);
        if (!objectKeyed(type.key)) {
          const key = this.type(type.key, dir);
          return dir === 'out' ? `Map<${key}, ${value}>` : `ReadonlyMap<${key}, ${value}>`;
        }
        const ro = dir === 'in' ? 'readonly ' : '';
        return this.objectMap(type.key, value, ro);
      }
    }
  }

  /**
   * What may be written where a struct `s` goes: its init type (an instance has every field it
   * names), and for a union or an empty struct, whose init types an instance does not fit, an
   * instance too.
   */
  structIn(s: ResolvedStruct): string {
    const init = this.ref(s.document, `${s.name}Init`);
    return s.kind === 'union' || s.fields.length === 0 ? `${this.structRef(s)} | ${init}` : init;
  }

  structRef(s: ResolvedStruct): string {
    return this.ref(s.document, s.name);
  }

  enumRef(e: ResolvedEnum): string {
    return this.ref(e.document, e.name);
  }

  /** A map decoded into a plain object: its keys are the strings the decoder makes of the keys. */
  private objectMap(key: ResolvedType, value: string, ro: string): string {
    switch (key.kind) {
      case 'enum':
        return `{ ${ro}[K in ${this.enumRef(key.enum)}]?: ${value} }`;
      case 'bool':
        return `{ ${ro}true?: ${value}; ${ro}false?: ${value} }`;
      case 'i8':
      case 'i16':
      case 'i32':
      case 'double':
        return `{ ${ro}[key: number]: ${value} }`;
      case 'i64':
        return `{ ${ro}[key: \`\${bigint}\`]: ${value} }`;
      default:
        return `{ ${ro}[key: string]: ${value} }`;
    }
  }
}

/** A JSDoc comment of `doc` (and extra lines), indented; empty when there is nothing to say. */
export function jsDoc(doc: string | undefined, indent = '', extra: string[] = []): string {
  const lines = [...(doc ? doc.replace(/\*\//g, '*\\/').split('\n') : []), ...extra];
  if (lines.length === 0) return '';
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`;
}
