/**
 * One generated struct, union or exception class (also a method's `_args` and `_result`
 * structs). Its public shape is Apache's: `new X(fields?)`, `x.read(input)`, `x.write(output)`,
 * fields initialised to `null` or their IDL default, exceptions extending `Thrift.TException`.
 * Added: `X.read(input)` returns a new instance, and `X.write(output, value)` writes an instance
 * or a plain object of its fields (the IDL defaults filling what a plain object leaves unset),
 * which is how thrifthost writes replies and calls without building instances.
 */
import type { JsonValue } from '../idl/json-form.js';
import type { Requiredness } from '../idl/ast.js';
import type { ResolvedStruct, ResolvedType } from '../idl/resolved.js';
import { copyValue, readValue, wireType, writeValue } from './js-codec.js';
import type { JsScope } from './js-scope.js';
import { jsLiteral } from './js-values.js';

/** A field as the generator needs it. */
export interface FieldShape {
  readonly id: number;
  readonly name: string;
  readonly type: ResolvedType;
  readonly requiredness: Requiredness;
  readonly defaultValue: JsonValue | undefined;
}

/** A class to generate. */
export interface StructShape {
  readonly name: string;
  readonly kind: 'struct' | 'union' | 'exception';
  readonly fields: readonly FieldShape[];
  /** A method's result struct: the constructor files a declared exception into its field. */
  readonly result?: boolean;
}

/** The shape of an IDL struct, union or exception. */
export function structShape(s: ResolvedStruct): StructShape {
  return { name: s.name, kind: s.kind, fields: s.fields };
}

/** The class declaration of `s`, followed by nothing: the caller exports it. */
export function jsStruct(s: StructShape, scope: JsScope): string {
  const name = s.name;
  const lines: string[] = [];
  if (s.fields.some((f) => f.defaultValue !== undefined)) lines.push(`let $defaults_${name};`);
  const base = s.kind === 'exception' ? ' extends $Thrift.TException' : '';
  lines.push(`class ${name}${base} {`, '  constructor(args) {');
  if (s.kind === 'exception') {
    lines.push('    super();');
    // TException would leave `message` undefined; an Error's message is a string.
    if (!s.fields.some((f) => f.name === 'message')) lines.push("    this.message = '';");
  }
  for (const f of s.fields) {
    lines.push(`    this.${f.name} = ${f.defaultValue === undefined ? 'null' : jsLiteral(f.defaultValue, f.type, scope)};`);
  }
  if (s.result) {
    for (const f of s.fields.filter((f) => f.id !== 0)) {
      lines.push(`    if (args instanceof ${typeRef(f.type, scope)}) { this.${f.name} = args; return; }`);
    }
  }
  if (s.fields.length > 0) {
    lines.push('    if (args) {');
    for (const f of s.fields) {
      const value = s.result && f.id !== 0 ? `args.${f.name}` : copyValue(f.type, `args.${f.name}`, scope);
      const missing = f.requiredness === 'required' ? ` else $required(${str(name)}, ${str(f.name)});` : '';
      lines.push(`      if (args.${f.name} != null) this.${f.name} = ${value};${missing}`);
    }
    if (s.kind === 'union') lines.push(`      $union(this, ${str(name)}, ${fieldList(s)});`);
    lines.push('    }');
  }
  lines.push('  }', '', ...readMethod(s, scope), '', '  write(output) {', `    ${name}.write(output, this);`, '  }', '');
  lines.push(`  /** A new ${name} read from \`input\`. */`, '  static read(input) {', `    const $v = new ${name}();`, '    $v.read(input);', '    return $v;', '  }', '');
  lines.push(...writeFunction(s, scope), '}');
  return lines.join('\n');
}

// --- internal ---

function readMethod(s: StructShape, scope: JsScope): string[] {
  const lines = ['  read(input) {', '    input.readStructBegin();', '    for (;;) {', '      const $f = input.readFieldBegin();'];
  lines.push('      const $t = $f.ftype;', '      if ($t === $T.STOP) break;');
  if (s.fields.length > 0) {
    lines.push('      switch ($f.fid) {');
    for (const f of s.fields) {
      lines.push(
        `        case ${f.id}:`,
        `          if ($t === ${wireType(f.type)}) { ${readValue(f.type, (e) => `this.${f.name} = ${e};`, scope)} } else input.skip($t);`,
        '          break;',
      );
    }
    lines.push('        default:', '          input.skip($t);', '      }');
  } else {
    lines.push('      input.skip($t);');
  }
  lines.push('      input.readFieldEnd();', '    }', '    input.readStructEnd();');
  for (const f of s.fields.filter((f) => f.requiredness === 'required')) {
    lines.push(`    if (this.${f.name} == null) $missing(${str(s.name)}, ${str(f.name)});`);
  }
  lines.push('  }');
  return lines;
}

function writeFunction(s: StructShape, scope: JsScope): string[] {
  const name = s.name;
  const defaults = s.fields.some((f) => f.defaultValue !== undefined);
  const lines = [
    `  /** Writes \`v\`, a ${name} or a plain object of its fields; \`where\` names it in a TypeError. */`,
    '  static write(output, v, where) {',
    `    v = $struct(v, where || ${str(name)});`,
  ];
  if (s.kind === 'union') lines.push(`    $union(v, ${str(name)}, ${fieldList(s)});`);
  // A plain object takes the IDL defaults from one instance made once (the constructor's values).
  if (defaults) lines.push(`    const $d = v instanceof ${name} ? undefined : ($defaults_${name} || ($defaults_${name} = new ${name}()));`);
  lines.push(`    output.writeStructBegin(${str(name)});`);
  if (s.fields.length > 0) lines.push('    let $x;');
  for (const f of s.fields) {
    lines.push(`    $x = v.${f.name};`);
    if (f.defaultValue !== undefined) lines.push(`    if ($x == null && $d !== undefined) $x = $d.${f.name};`);
    const missing = f.requiredness === 'required' ? ` else $unset(${str(name)}, ${str(f.name)});` : '';
    lines.push(
      `    if ($x != null) { output.writeFieldBegin(${str(f.name)}, ${wireType(f.type)}, ${f.id}); ` +
        `${writeValue(f.type, '$x', `${name}.${f.name}`, scope)} output.writeFieldEnd(); }${missing}`,
    );
  }
  lines.push('    output.writeFieldStop();', '    output.writeStructEnd();', '  }');
  return lines;
}

function typeRef(type: ResolvedType, scope: JsScope): string {
  return type.kind === 'struct' ? scope.struct(type.struct) : 'undefined';
}

function fieldList(s: StructShape): string {
  return `[${s.fields.map((f) => str(f.name)).join(', ')}]`;
}

function str(s: string): string {
  return JSON.stringify(s);
}
