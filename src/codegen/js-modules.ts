/**
 * The two kinds of generated CommonJS module, with Apache's file names and public shape:
 * `<file>_types.js` (enums, structs, unions, exceptions, constants of one IDL file) and
 * `<Service>.js` (the service's `Client` and `Processor`, and its `<Service>_<method>_args` /
 * `_result` structs). Every export is an `exports.Name = ...` assignment, the form Node's
 * CommonJS lexer sees, so each one is a named export when an ES module imports the file.
 */
import type { EnumNode, IdlDocument, StructNode } from '../idl/ast.js';
import type { IdlModel } from '../idl/idl-model.js';
import type { ResolvedFunction, ResolvedService } from '../idl/resolved.js';
import { GenError } from '../host/host-errors.js';
import { fileHeader, jsPrelude, SERVICE_PRELUDE } from './js-prelude.js';
import { checkDeclarable, type I64Mode, JsScope, paramName, requireLines } from './js-scope.js';
import { type FieldShape, jsStruct, type StructShape, structShape } from './js-struct.js';
import { jsLiteral } from './js-values.js';

/** Identification written into each file's header. */
export interface ModuleOptions {
  mode: I64Mode;
  /** thrifthost's version. */
  version: string;
}

/** The symbol under which a generated service module describes itself to thrifthost. */
export const SERVICE_DESCRIPTION = 'thrifthost.service';

/** `<doc>_types.js`. */
export function jsTypesModule(model: IdlModel, doc: IdlDocument, options: ModuleOptions): string {
  const scope = new JsScope(doc, options.mode, true);
  const body: string[] = [];
  for (const def of doc.definitions) {
    if (def.kind === 'enum') body.push(enumObject(def));
    else if (def.kind === 'struct' || def.kind === 'union' || def.kind === 'exception') {
      checkDeclarable(def.name, def.kind, doc);
      const shape = structShape(model.struct(doc, def as StructNode));
      checkFieldNames(shape, doc);
      body.push(jsStruct(shape, scope), `exports.${def.name} = ${def.name};`, '');
    }
  }
  // Constants last: a constant may be an instance of any struct of the file.
  for (const def of doc.definitions) {
    if (def.kind !== 'const') continue;
    const type = model.resolveType(doc, def.type);
    body.push(`exports.${def.name} = ${jsLiteral(model.constValue(doc, def), type, scope)};`);
  }
  return [fileHeader(`${doc.name}.thrift`, options.mode, options.version), jsPrelude(options.mode), ...requireLines(scope), '', ...body, ''].join('\n');
}

/** `<Service>.js` for a service of `doc`. */
export function jsServiceModule(service: ResolvedService, options: ModuleOptions): string {
  const doc = service.document;
  const scope = new JsScope(doc, options.mode, false);
  const s = service.name;
  checkDeclarable(`${s}Client`, 'service', doc);
  const own = [...service.functions.values()].filter((f) => service.node.functions.includes(f.node));
  const body: string[] = [];
  for (const fn of own) {
    const args: StructShape = { name: `${s}_${fn.name}_args`, kind: 'struct', fields: fn.params.map(argumentField) };
    const resultFields: FieldShape[] = fn.returnType
      ? [{ id: 0, name: 'success', type: fn.returnType, requiredness: 'optional', defaultValue: undefined }]
      : [];
    resultFields.push(...fn.throws.map((t) => ({ ...t, requiredness: 'optional' as const, defaultValue: undefined })));
    const result: StructShape = { name: `${s}_${fn.name}_result`, kind: 'struct', fields: resultFields, result: true };
    body.push(jsStruct(args, scope), jsStruct(result, scope), `const $M_${fn.name} = $method(${str(fn.name)}, ${args.name}, ${result.name}, ${fn.oneway});`, '');
  }
  const base = service.base ? `$base` : undefined;
  body.push(clientClass(s, own, base), `exports.Client = ${s}Client;`, '');
  body.push(processorClass(s, own, base), `exports.Processor = ${s}Processor;`, '');
  const methods = `[${own.map((f) => `$M_${f.name}`).join(', ')}]`;
  const all = base
    ? `${methods}.concat(${base}[$SERVICE].methods.filter((m) => !${JSON.stringify(own.map((f) => f.name))}.includes(m.name)))`
    : methods;
  body.push(
    '// What thrifthost reads to serve and call this service: every method, inherited ones included.',
    `exports[$SERVICE] = { version: 1, name: ${str(s)}, idl: ${str(doc.name)}, i64: ${str(options.mode)}, methods: ${all} };`,
    '',
  );
  const requires = requireLines(scope);
  if (service.base) requires.push(`const $base = require('./${service.base.name}');`);
  return [fileHeader(`${doc.name}.thrift`, options.mode, options.version), jsPrelude(options.mode), SERVICE_PRELUDE, ...requires, '', ...body].join('\n');
}

/** An argument as its `_args` struct field: `optional` is ignored in argument lists, as Apache does. */
export function argumentField(f: FieldShape): FieldShape {
  return f.requiredness === 'optional' ? { ...f, requiredness: 'default' } : f;
}

// --- internal ---

function enumObject(e: EnumNode): string {
  const names = e.members.map((m) => `${str(m.name)}: ${m.value}`);
  // The reverse mapping, as TypeScript's numeric enums and Apache's code have it: the last member of a value wins.
  const values = new Map(e.members.map((m) => [m.value, m.name]));
  const reverse = [...values].map(([v, n]) => `${str(String(v))}: ${str(n)}`);
  return `exports.${e.name} = $Object.freeze({ ${[...names, ...reverse].join(', ')} });`;
}

function clientClass(s: string, fns: ResolvedFunction[], base: string | undefined): string {
  const lines = [`class ${s}Client${base ? ` extends ${base}.Client` : ''} {`, '  constructor(output, pClass) {'];
  if (base) lines.push('    super(output, pClass);');
  lines.push('    this.output = output;', '    this.pClass = pClass;', '    this._seqid = 0;', '    this._reqs = {};', '  }', '');
  if (!base) {
    lines.push('  seqid() {', '    return this._seqid;', '  }', '', '  new_seqid() {', '    return (this._seqid += 1);', '  }', '');
  }
  for (const fn of fns) {
    const params = fn.params.map((p) => paramName(p.name));
    const object = `{ ${fn.params.map((p, i) => `${str(p.name)}: ${params[i]}`).join(', ')} }`;
    const list = params.join(', ');
    lines.push(
      `  ${fn.name}(${list}) {`,
      `    return $call(this, () => this.send_${fn.name}(${list}));`,
      '  }',
      '',
      `  send_${fn.name}(${list}) {`,
      `    return $send(this, ${str(fn.name)}, ${fn.oneway}, $M_${fn.name}.Args, ${object});`,
      '  }',
      '',
    );
    if (!fn.oneway) {
      lines.push(`  recv_${fn.name}(input, mtype, rseqid) {`, `    return $recv(this, input, mtype, rseqid, $M_${fn.name});`, '  }', '');
    }
  }
  lines.push('}');
  return lines.join('\n');
}

function processorClass(s: string, fns: ResolvedFunction[], base: string | undefined): string {
  const lines = [`class ${s}Processor${base ? ` extends ${base}.Processor` : ''} {`];
  if (!base) {
    lines.push(
      '  constructor(handler) {',
      '    this._handler = handler;',
      '  }',
      '',
      '  process(input, output) {',
      '    const r = input.readMessageBegin();',
      "    const fn = this['process_' + r.fname];",
      "    if (typeof fn === 'function') return fn.call(this, r.rseqid, input, output);",
      '    input.skip($T.STRUCT);',
      '    input.readMessageEnd();',
      "    const x = new $Thrift.TApplicationException($Thrift.TApplicationExceptionType.UNKNOWN_METHOD, 'Unknown function ' + r.fname);",
      '    output.writeMessageBegin(r.fname, $EXCEPTION, r.rseqid);',
      '    x.write(output);',
      '    output.writeMessageEnd();',
      '    output.flush();',
      '  }',
      '',
    );
  }
  for (const fn of fns) {
    lines.push(`  process_${fn.name}(seqid, input, output) {`, `    $process(this, $M_${fn.name}, seqid, input, output);`, '  }', '');
  }
  lines.push('}');
  return lines.join('\n');
}

/** A field named like a method of the generated class would hide that method. */
function checkFieldNames(s: StructShape, doc: IdlDocument): void {
  for (const f of s.fields) {
    if (f.name === 'read' || f.name === 'write') {
      throw new GenError(`${doc.file}: field ${s.name}.${f.name} would hide the generated ${f.name}() method; rename the field`);
    }
  }
}

function str(s: string): string {
  return JSON.stringify(s);
}
