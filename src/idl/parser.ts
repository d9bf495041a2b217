/**
 * A recursive-descent parser for Thrift IDL, after Apache's `thrifty.yy` (compiler 0.17): headers
 * (`include`, `cpp_include`, `namespace`), then typedefs, constants, enums, structs, unions,
 * exceptions and services, each optionally followed by `,` or `;`. What Apache's compiler
 * rejects is rejected here too (`senum`, `slist`, `php_namespace` and the other retired
 * keywords; a oneway function that throws; a field id or name used twice), with the file, line
 * and column; what it only warns about (an implicit field id, `async`, `byte`, a oneway function
 * returning a value, requiredness on a union member) is kept in `warnings`.
 *
 * Parsing does not look at other files and does not resolve names: see `idl-loader.ts` and
 * `idl-model.ts`. Over 400 lines because it is one grammar, one method per rule, each short;
 * splitting the rules over files would only hide the recursion.
 */
import path from 'node:path';
import type {
  Annotation,
  BaseTypeName,
  ConstValueNode,
  DefinitionNode,
  Diagnostic,
  EnumMemberNode,
  FieldNode,
  FunctionNode,
  IdlDocument,
  IncludeNode,
  NamespaceNode,
  Position,
  Requiredness,
  ReturnTypeNode,
  TypeNode,
} from './ast.js';
import { IdlParseError } from './idl-errors.js';
import { type Token, tokenize } from './lexer.js';

/**
 * Parses the text of one IDL file.
 * @param file its path, for positions in errors and for the document's name
 * @throws IdlParseError naming file:line:column, what was found and what was expected
 * @example
 * const doc = parseIdl('service Hello { string hi(1: string name) }', 'hello.thrift');
 * doc.definitions[0].kind; // 'service'
 */
export function parseIdl(source: string, file: string): IdlDocument {
  return new Parser(tokenize(source, file), file).document();
}

// --- internal ---

const BASE_TYPES = new Set<string>(['bool', 'byte', 'i8', 'i16', 'i32', 'i64', 'double', 'string', 'binary', 'uuid']);

/** Declarations Apache's compiler retired: it stops with a message, and so does this parser. */
const RETIRED: Record<string, string> = {
  senum: '"senum" is no longer supported, use "string" instead',
  slist: '"slist" is no longer supported, use "string" instead',
  php_namespace: "Unsupported declaration 'php_namespace'. Use 'namespace php' instead",
  py_module: "Unsupported declaration 'py_module'. Use 'namespace py' instead",
  perl_package: "Unsupported declaration 'perl_package'. Use 'namespace perl' instead",
  ruby_namespace: "Unsupported declaration 'ruby_namespace'. Use 'namespace rb' instead",
  smalltalk_category: "Unsupported declaration 'smalltalk_category'. Use 'namespace smalltalk.category' instead",
  smalltalk_prefix: "Unsupported declaration 'smalltalk_prefix'. Use 'namespace smalltalk.prefix' instead",
  java_package: "Unsupported declaration 'java_package'. Use 'namespace java' instead",
  cocoa_prefix: "Unsupported declaration 'cocoa_prefix'. Use 'namespace cocoa' instead",
  xsd_namespace: "Unsupported declaration 'xsd_namespace'. Use 'namespace xsd' instead",
  csharp_namespace: "Unsupported declaration 'csharp_namespace'. Use 'namespace csharp' instead",
  delphi_namespace: "Unsupported declaration 'delphi_namespace'. Use 'namespace delphi' instead",
};

/** Words that start a definition: a field or function list stops at none of them but `}`. */
const DEFINITION_KEYWORDS = ['typedef', 'const', 'enum', 'struct', 'union', 'exception', 'service'];

const I16_MIN = -32768;
const I16_MAX = 32767;

class Parser {
  private i = 0;
  private readonly warnings: Diagnostic[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  document(): IdlDocument {
    const includes: IncludeNode[] = [];
    const cppIncludes: IncludeNode[] = [];
    const namespaces: NamespaceNode[] = [];
    const definitions: DefinitionNode[] = [];
    const names = new Map<string, Position>();
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (t.kind === 'identifier' && RETIRED[t.text]) this.fail(t, RETIRED[t.text]!);
      if (this.acceptWord('include')) {
        includes.push({ loc: t.loc, path: this.expectLiteral('the included file\'s path in quotes') });
      } else if (this.acceptWord('cpp_include')) {
        cppIncludes.push({ loc: t.loc, path: this.expectLiteral('the C++ header\'s path in quotes') });
      } else if (this.acceptWord('namespace')) {
        namespaces.push(this.namespace(t.loc));
      } else {
        const def = this.definition();
        const seen = names.get(def.name);
        if (seen) {
          this.fail(def, `"${def.name}" is already defined (at line ${seen.line}, column ${seen.column})`);
        }
        names.set(def.name, def.loc);
        definitions.push(def);
      }
      this.separator();
    }
    const base = path.basename(this.file);
    return {
      file: this.file,
      name: base.endsWith('.thrift') ? base.slice(0, -'.thrift'.length) : base,
      includes,
      cppIncludes,
      namespaces,
      definitions,
      warnings: this.warnings,
    };
  }

  // --- headers and definitions ---

  private namespace(loc: Position): NamespaceNode {
    const scope = this.acceptSymbol('*') ? '*' : this.expectIdentifier('a language (cpp, java, py, ... or *)');
    const name = this.expectIdentifier(`the namespace for ${scope}`);
    return { loc, scope, name, annotations: this.annotations() };
  }

  private definition(): DefinitionNode {
    const t = this.peek();
    const doc = t.doc;
    const loc = t.loc;
    if (this.acceptWord('typedef')) {
      const type = this.fieldType();
      const name = this.expectIdentifier('the typedef\'s name');
      return { kind: 'typedef', loc, doc, name, type, annotations: this.annotations() };
    }
    if (this.acceptWord('const')) {
      const type = this.fieldType();
      const name = this.expectIdentifier('the constant\'s name');
      this.expectSymbol('=', `"=" and the value of constant ${name}`);
      const value = this.constValue();
      return { kind: 'const', loc, doc, name, type, value, annotations: [] };
    }
    if (this.acceptWord('enum')) return this.enumDefinition(loc, doc);
    for (const kind of ['struct', 'union', 'exception'] as const) {
      if (this.acceptWord(kind)) {
        const name = this.expectIdentifier(`the ${kind}'s name`);
        if (kind === 'struct') this.acceptWord('xsd_all');
        const fields = this.fieldList('{', '}', `${kind} ${name}`, kind === 'union');
        return { kind, loc, doc, name, fields, annotations: this.annotations() };
      }
    }
    if (this.acceptWord('service')) {
      const name = this.expectIdentifier('the service\'s name');
      const base = this.acceptWord('extends') ? this.expectIdentifier('the name of the service extended') : undefined;
      this.expectSymbol('{', `"{" to open service ${name}`);
      const functions: FunctionNode[] = [];
      const seen = new Set<string>();
      while (!this.acceptSymbol('}')) {
        const fn = this.functionDefinition(name);
        if (seen.has(fn.name)) this.fail(fn, `function "${fn.name}" is already defined in service ${name}`);
        seen.add(fn.name);
        functions.push(fn);
      }
      return { kind: 'service', loc, doc, name, extends: base, functions, annotations: this.annotations() };
    }
    return this.expected('a definition (typedef, const, enum, struct, union, exception or service)');
  }

  private enumDefinition(loc: Position, doc: string | undefined): DefinitionNode {
    const name = this.expectIdentifier('the enum\'s name');
    this.expectSymbol('{', `"{" to open enum ${name}`);
    const members: EnumMemberNode[] = [];
    let next = 0;
    while (!this.acceptSymbol('}')) {
      const t = this.peek();
      const member = this.expectIdentifier(`an enum member of ${name} or "}"`);
      let value = next;
      let explicitValue = false;
      if (this.acceptSymbol('=')) {
        const v = this.intToken(`the value of ${name}.${member}`);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) this.fail(t, `${name}.${member} = ${v} does not fit in an i32`);
        value = Number(v);
        explicitValue = true;
      }
      if (members.some((m) => m.name === member)) this.fail(t, `enum member ${name}.${member} is already defined`);
      members.push({ loc: t.loc, doc: t.doc, name: member, value, explicitValue, annotations: this.annotations() });
      next = value + 1;
      this.separator();
    }
    return { kind: 'enum', loc, doc, name, members, annotations: this.annotations() };
  }

  private functionDefinition(service: string): FunctionNode {
    const t = this.peek();
    let oneway = false;
    if (this.acceptWord('oneway')) oneway = true;
    else if (this.acceptWord('async')) {
      oneway = true;
      this.warn(t.loc, '"async" is deprecated. It is called "oneway" now.');
    }
    const returnType: ReturnTypeNode = this.peekWord('void')
      ? { kind: 'void', loc: this.next().loc }
      : this.fieldType(`the return type of a function of ${service} (or "}")`);
    const name = this.expectIdentifier(`the function's name in service ${service}`);
    const params = this.fieldList('(', ')', `the arguments of ${service}.${name}`, false);
    for (const p of params) if (p.requiredness === 'optional') this.warn(p.loc, 'optional keyword is ignored in argument lists.');
    let throws: FieldNode[] = [];
    if (this.acceptWord('throws')) throws = this.fieldList('(', ')', `the exceptions of ${service}.${name}`, false);
    if (oneway && throws.length > 0) this.fail(t, `oneway function ${service}.${name} cannot throw exceptions`);
    if (oneway && returnType.kind !== 'void') this.warn(t.loc, `oneway function ${service}.${name} should return void`);
    const fn: FunctionNode = {
      loc: t.loc,
      doc: t.doc,
      name,
      oneway,
      returnType,
      params,
      throws,
      annotations: this.annotations(),
    };
    this.separator();
    return fn;
  }

  /** Fields between `open` and `close`; implicit ids count down from -1 within the list, as Apache does. */
  private fieldList(open: string, close: string, owner: string, union: boolean): FieldNode[] {
    this.expectSymbol(open, `"${open}" to open ${owner}`);
    const fields: FieldNode[] = [];
    let implicit = -1;
    while (!this.acceptSymbol(close)) {
      const t = this.peek();
      if (t.kind === 'identifier' && DEFINITION_KEYWORDS.includes(t.text)) {
        this.expected(`a field or "${close}" to close ${owner}`);
      }
      let id: number | undefined;
      if (t.kind === 'int' && this.peek(1).text === ':' && this.peek(1).kind === 'symbol') {
        const v = this.intToken('a field id');
        this.next();
        if (v > BigInt(I16_MAX) || v < BigInt(I16_MIN)) {
          this.fail(t, `field id ${v} is out of range (${I16_MIN}..${I16_MAX})`);
        }
        if (v <= 0n) this.warn(t.loc, `Nonpositive value (${v}) not allowed as a field key.`);
        else id = Number(v);
      }
      let requiredness: Requiredness = 'default';
      if (this.acceptWord('required')) requiredness = 'required';
      else if (this.acceptWord('optional')) requiredness = 'optional';
      const reference = this.acceptSymbol('&');
      const type = this.fieldType(`a field type in ${owner} (or "${close}")`);
      const nameToken = this.peek();
      const name = this.expectIdentifier(`the field's name in ${owner}`);
      const defaultValue = this.acceptSymbol('=') ? this.constValue() : undefined;
      const xsd: string[] = [];
      for (;;) {
        const w = this.peek();
        if (w.kind !== 'identifier' || !['xsd_optional', 'xsd_nillable', 'xsd_attrs'].includes(w.text)) break;
        this.next();
        xsd.push(w.text);
        if (w.text === 'xsd_attrs') this.fieldList('{', '}', `the xsd_attrs of ${name}`, false);
      }
      if (id === undefined) this.warn(t.loc, `No field key specified for ${name}, resulting protocol may have conflicts or not be backwards compatible!`);
      if (union) {
        if (requiredness === 'required') {
          this.warn(t.loc, `Union ${owner.replace(/^union /, '')} field ${name}: union members must be optional, ignoring specified requiredness.`);
        }
        // Apache's compiler makes every union member optional.
        requiredness = 'optional';
      }
      const field: FieldNode = {
        loc: t.loc,
        doc: t.doc,
        id: id ?? implicit--,
        explicitId: id !== undefined,
        name,
        type,
        requiredness,
        defaultValue,
        annotations: this.annotations(),
        ...(reference ? { reference } : {}),
        ...(xsd.length ? { xsd } : {}),
      };
      const clash = fields.find((f) => f.id === field.id || f.name === field.name);
      if (clash) {
        this.fail(nameToken, `"${field.id}: ${field.name}" - field ${clash.name === field.name ? 'name' : 'id'} already used in ${owner}`);
      }
      fields.push(field);
      this.separator();
    }
    return fields;
  }

  // --- types and values ---

  private fieldType(what = 'a type'): TypeNode {
    const t = this.peek();
    if (t.kind !== 'identifier') return this.expected(what);
    if (RETIRED[t.text]) this.fail(t, RETIRED[t.text]!);
    this.next();
    if (BASE_TYPES.has(t.text)) {
      if (t.text === 'byte') this.warn(t.loc, 'The "byte" type is a compatibility alias for "i8". Use "i8" to emphasize the signedness of this type.');
      return { kind: 'base', loc: t.loc, name: t.text as BaseTypeName, annotations: this.annotations() };
    }
    if (t.text === 'map') {
      const cppType = this.cppType();
      this.expectSymbol('<', '"<" after map');
      const key = this.fieldType('the map\'s key type');
      this.expectSymbol(',', '"," between the map\'s key and value types');
      const value = this.fieldType('the map\'s value type');
      this.expectSymbol('>', '">" to close map<...>');
      return { kind: 'map', loc: t.loc, key, value, annotations: this.annotations(), ...(cppType ? { cppType } : {}) };
    }
    if (t.text === 'set' || t.text === 'list') {
      let cppType = t.text === 'set' ? this.cppType() : undefined;
      this.expectSymbol('<', `"<" after ${t.text}`);
      const element = this.fieldType(`the ${t.text}'s element type`);
      this.expectSymbol('>', `">" to close ${t.text}<...>`);
      if (t.text === 'list') cppType = this.cppType();
      return {
        kind: t.text,
        loc: t.loc,
        element,
        annotations: this.annotations(),
        ...(cppType ? { cppType } : {}),
      };
    }
    if (['void', ...DEFINITION_KEYWORDS, 'required', 'optional', 'oneway', 'throws'].includes(t.text)) {
      this.i--;
      return this.expected(what);
    }
    return { kind: 'named', loc: t.loc, name: t.text };
  }

  private cppType(): string | undefined {
    return this.acceptWord('cpp_type') ? this.expectLiteral('the cpp_type in quotes') : undefined;
  }

  private constValue(): ConstValueNode {
    const t = this.next();
    const loc = t.loc;
    switch (t.kind) {
      case 'int':
        return { kind: 'int', loc, value: parseInteger(t.text), text: t.text };
      case 'double':
        return { kind: 'double', loc, value: Number(t.text), text: t.text };
      case 'literal':
        return { kind: 'string', loc, value: t.text };
      case 'identifier':
        return { kind: 'identifier', loc, name: t.text };
      case 'symbol':
        if (t.text === '[') {
          const elements: ConstValueNode[] = [];
          while (!this.acceptSymbol(']')) {
            elements.push(this.constValue());
            this.separator();
          }
          return { kind: 'list', loc, elements };
        }
        if (t.text === '{') {
          const entries: { key: ConstValueNode; value: ConstValueNode }[] = [];
          while (!this.acceptSymbol('}')) {
            const key = this.constValue();
            this.expectSymbol(':', '":" between a key and its value');
            entries.push({ key, value: this.constValue() });
            this.separator();
          }
          return { kind: 'map', loc, entries };
        }
        break;
      default:
        break;
    }
    this.i--;
    return this.expected('a value (number, "string", identifier, [list] or {map})');
  }

  /** `( name [= "value"] [,;] ... )` after a type or definition; none when no `(` follows. */
  private annotations(): Annotation[] {
    if (!this.acceptSymbol('(')) return [];
    const out: Annotation[] = [];
    while (!this.acceptSymbol(')')) {
      const t = this.peek();
      const name = this.expectIdentifier('an annotation name or ")"');
      const value = this.acceptSymbol('=') ? this.expectLiteral(`the value of annotation ${name} in quotes`) : '1';
      out.push({ loc: t.loc, name, value });
      this.separator();
    }
    return out;
  }

  // --- tokens ---

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private peekWord(word: string): boolean {
    const t = this.peek();
    return t.kind === 'identifier' && t.text === word;
  }

  private acceptWord(word: string): boolean {
    if (!this.peekWord(word)) return false;
    this.i++;
    return true;
  }

  private acceptSymbol(symbol: string): boolean {
    const t = this.peek();
    if (t.kind !== 'symbol' || t.text !== symbol) return false;
    this.i++;
    return true;
  }

  /** An optional `,` or `;` after a definition, field, member or value. */
  private separator(): void {
    if (!this.acceptSymbol(',')) this.acceptSymbol(';');
  }

  private expectSymbol(symbol: string, what: string): void {
    if (!this.acceptSymbol(symbol)) this.expected(what);
  }

  private expectIdentifier(what: string): string {
    const t = this.peek();
    if (t.kind !== 'identifier') return this.expected(what);
    this.i++;
    return t.text;
  }

  private expectLiteral(what: string): string {
    const t = this.peek();
    if (t.kind !== 'literal') return this.expected(what);
    this.i++;
    return t.text;
  }

  private intToken(what: string): bigint {
    const t = this.peek();
    if (t.kind !== 'int') return this.expected(`an integer (${what})`);
    this.i++;
    return parseInteger(t.text);
  }

  private expected(what: string): never {
    const t = this.peek();
    return this.fail(t, `expected ${what}, got ${describe(t)}`);
  }

  private fail(at: { loc: Position }, problem: string): never {
    throw new IdlParseError(this.file, at.loc, problem);
  }

  private warn(loc: Position, message: string): void {
    this.warnings.push({ file: this.file, loc, message });
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the file';
    case 'literal':
      return `the literal ${JSON.stringify(t.text)}`;
    default:
      return `"${t.text}"`;
  }
}

function parseInteger(text: string): bigint {
  const negative = text.startsWith('-');
  const digits = text.replace(/^[+-]/, '');
  const v = BigInt(digits);
  return negative ? -v : v;
}
