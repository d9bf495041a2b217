/**
 * What one generated JavaScript file knows while it is written: the IDL document it belongs to,
 * the i64 representation, the other documents' `_types` modules it requires, and fresh local
 * names. Every identifier the generator invents starts with `$`, which no IDL name can, so a
 * struct called `Map`, `thrift` or `Client` never collides with the generated code's own names.
 */
import type { IdlDocument } from '../idl/ast.js';
import type { ResolvedStruct } from '../idl/resolved.js';
import { GenError } from '../host/host-errors.js';

/** How generated code represents i64 values: node-int64 `Int64` objects or `bigint`. */
export type I64Mode = 'int64' | 'bigint';

/** Names, requires and fresh variables of one generated file. */
export class JsScope {
  /** Documents whose `_types` module this file requires, with the local name of each. */
  readonly requires = new Map<IdlDocument, string>();
  private vars = 0;

  /**
   * @param doc the document the file is generated from
   * @param local true in `<doc>_types.js` itself, where the document's types are local classes
   */
  constructor(
    readonly doc: IdlDocument,
    readonly mode: I64Mode,
    readonly local: boolean,
  ) {}

  /** A fresh local variable name. */
  v(prefix: string): string {
    return `$${prefix}${this.vars++}`;
  }

  /** The expression naming struct class `s` here (requiring its module when it is another's). */
  struct(s: ResolvedStruct): string {
    return `${this.module(s.document)}${s.name}`;
  }

  /** `''` for a local class, else the required module's name and a dot. */
  private module(doc: IdlDocument): string {
    if (doc === this.doc && this.local) return '';
    let name = this.requires.get(doc);
    if (!name) {
      name = doc === this.doc ? '$types' : `$types_${doc.name.replace(/\W/g, '_')}`;
      this.requires.set(doc, name);
    }
    return `${name}.`;
  }
}

/** `require` lines for what `scope` used, in a stable order. */
export function requireLines(scope: JsScope): string[] {
  return [...scope.requires]
    .sort(([, a], [, b]) => a.localeCompare(b))
    .map(([doc, name]) => `const ${name} = require('./${doc.name}_types');`);
}

/**
 * Refuses a name the generated JavaScript cannot declare: a reserved word, or one of the names
 * Node's CommonJS wrapper already binds.
 * @throws CodegenError naming the definition
 */
export function checkDeclarable(name: string, what: string, doc: IdlDocument): void {
  if (RESERVED.has(name) || CJS_BINDINGS.has(name)) {
    throw new GenError(`${doc.file}: ${what} "${name}" cannot be declared in JavaScript (a reserved word); rename it`);
  }
}

/** A parameter name that is a valid JavaScript binding (`default` becomes `default_`). */
export function paramName(name: string): string {
  return RESERVED.has(name) || CJS_BINDINGS.has(name) ? `${name}_` : name;
}

// --- internal ---

const RESERVED = new Set([
  'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else',
  'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'implements', 'import', 'in',
  'instanceof', 'interface', 'let', 'new', 'null', 'package', 'private', 'protected', 'public', 'return',
  'static', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
  'yield', 'arguments', 'eval', 'undefined', 'NaN', 'Infinity',
]);

const CJS_BINDINGS = new Set(['exports', 'require', 'module', '__filename', '__dirname']);
