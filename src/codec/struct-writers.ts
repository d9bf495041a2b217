/**
 * Reply writers compiled from the IDL's description (`gen/<Name>/<Name>.json`, the compiler's
 * `--gen json` output that `rpc gen` keeps): one JavaScript function per struct, built once per
 * worker with `new Function`, calling the output protocol directly field by field.
 *
 * Why: the compiler's `write()` walks every list and set with `for...in` (string keys, a
 * `hasOwnProperty` call per element), and the host first had to pass the handler's value through
 * the generated result constructor, which deep-copies every container and struct (`copyList`,
 * `copyMap`) to turn plain objects into class instances. Profiles of list and map replies showed
 * those two as most of the JavaScript spent per call. The compiled writers read plain objects
 * and instances alike, so nothing is copied, and loop over arrays by index.
 *
 * Same bytes as the generated code for every value it accepts (test/struct-writers.test.ts);
 * stricter where the generated code wrote a broken message: an unset `required` field, a hole or
 * `undefined` in a list, a non-object where a struct is declared each throw a TypeError naming
 * the struct and field, which the host answers as INTERNAL_ERROR. A plain object gets the IDL
 * defaults for its unset fields, as the generated constructor gave it. Also accepted beyond the generated code: a `Set` for a list or set, a
 * `Map` for a map.
 */
import thrift from 'thrift';

/** The part of `thrift --gen json` output read here (typedefs resolved, enums as i32). */
export interface IdlTypeJson {
  typeId: string;
  type?: IdlTypeJson;
  class?: string;
  elemTypeId?: string;
  elemType?: IdlTypeJson;
  keyTypeId?: string;
  keyType?: IdlTypeJson;
  valueTypeId?: string;
  valueType?: IdlTypeJson;
}

interface IdlFieldJson extends IdlTypeJson {
  key: number;
  name: string;
  required: string;
  default?: unknown;
}

/** An IDL file as `thrift --gen json` describes it (only what the writers need). */
export interface IdlDocumentJson {
  name: string;
  structs: { name: string; fields: IdlFieldJson[] }[];
  services: {
    name: string;
    functions: {
      name: string;
      returnTypeId: string;
      returnType?: IdlTypeJson;
      oneway: boolean;
      arguments: IdlFieldJson[];
    }[];
  }[];
}

/**
 * Writes a method's successful result struct: `value` is what the handler returned (ignored
 * for a void method). Throws a TypeError naming the field when the value cannot be encoded.
 */
export type ResultWriter = (output: unknown, value: unknown) => void;

/** Writes a call's argument struct from an object keyed by argument name (the client's side). */
export type ArgsWriter = (output: unknown, args: Record<string, unknown>) => void;

/** The compiled writers of one method; either may be absent. */
export interface MethodWriters {
  result?: ResultWriter;
  args?: ArgsWriter;
}

/**
 * Compiles writers for every method of `service` in `idl` whose types it can resolve in `types`
 * (the generated `<Name>_types.js` exports, plus the service module's `X_args` classes). What
 * it cannot write (a struct from an included IDL, an unknown type) keeps the generated path.
 */
export function compileWriters(
  idl: IdlDocumentJson,
  service: string,
  types: Record<string, unknown>,
): Map<string, MethodWriters> {
  const writers = new Map<string, MethodWriters>();
  const svc = idl.services.find((s) => s.name === service);
  if (!svc) return writers;
  const compiler = new WriterCompiler(idl, types);
  const attempt = <W>(make: () => W): W | undefined => {
    try {
      return make();
    } catch (err) {
      if (err instanceof Unsupported) return undefined;
      throw err;
    }
  };
  for (const fn of svc.functions) {
    const success = fn.returnTypeId === 'void' ? undefined : (fn.returnType ?? { typeId: fn.returnTypeId });
    const argsName = `${service}_${fn.name}_args`;
    writers.set(fn.name, {
      result: fn.oneway ? undefined : attempt(() => compiler.resultWriter(`${service}_${fn.name}_result`, success)),
      args: attempt(() => compiler.structWriter(argsName, { name: argsName, fields: fn.arguments })),
    });
  }
  return writers;
}

// --- internal ---

const T = thrift.Thrift.Type;

const TYPE_CODES: Record<string, number> = {
  bool: T.BOOL,
  i8: T.BYTE,
  byte: T.BYTE,
  i16: T.I16,
  i32: T.I32,
  i64: T.I64,
  double: T.DOUBLE,
  string: T.STRING,
  binary: T.STRING,
  struct: T.STRUCT,
  union: T.STRUCT,
  exception: T.STRUCT,
  map: T.MAP,
  set: T.SET,
  list: T.LIST,
};

const PRIMITIVE_WRITES: Record<string, string> = {
  bool: 'writeBool',
  i8: 'writeByte',
  byte: 'writeByte',
  i16: 'writeI16',
  i32: 'writeI32',
  i64: 'writeI64',
  double: 'writeDouble',
  string: 'writeString',
  binary: 'writeBinary',
};

/** A type the compiler cannot write here; the method keeps the generated path. */
class Unsupported extends Error {}

/** Helpers the compiled code calls (passed in, not globals). */
const runtime = {
  /** The elements of a list or set value. */
  elements(v: unknown, where: string): ArrayLike<unknown> {
    if (Array.isArray(v)) return v;
    if (v instanceof Set) return [...v];
    throw new TypeError(`${where}: expected an array, got ${describe(v)}`);
  },
  /** A struct value as an object, or a TypeError naming where it was met. */
  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    throw new TypeError(`${where}: expected a struct, got ${describe(v)}`);
  },
  unset(where: string): never {
    throw new TypeError(`${where} is required but unset`);
  },
  keysOf: Object.keys,
};

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 30))}` : typeof v;
}

class WriterCompiler {
  private readonly structs: Map<string, { name: string; fields: IdlFieldJson[] }>;
  /** Struct name → the name of its compiled function, once generated. */
  private readonly emitted = new Map<string, string>();
  private readonly functions: string[] = [];
  private readonly classes: unknown[] = [];
  private vars = 0;

  constructor(
    idl: IdlDocumentJson,
    private readonly types: Record<string, unknown>,
  ) {
    this.structs = new Map(idl.structs.map((s) => [s.name, s]));
  }

  /** A writer for the result struct `name` with `success` of type `success` (none: void). */
  resultWriter(name: string, success: IdlTypeJson | undefined): ResultWriter {
    const body: string[] = [`o.writeStructBegin(${JSON.stringify(name)});`];
    if (success) {
      body.push(
        `if (v != null) { o.writeFieldBegin('success', ${typeCode(success)}, 0); ${this.value(success, 'v', `${name}.success`)} o.writeFieldEnd(); }`,
      );
    }
    body.push('o.writeFieldStop();', 'o.writeStructEnd();');
    return this.compile(`return function ${name}(o, v) {\n${body.join('\n')}\n};`) as ResultWriter;
  }

  /** A writer for struct `name` (described by `def` when it is not one of the IDL's structs). */
  structWriter(name: string, def?: { name: string; fields: IdlFieldJson[] }): ArgsWriter {
    if (def && !this.structs.has(name)) this.structs.set(name, def);
    const fn = this.struct(name);
    return this.compile(`return ${fn};`) as ArgsWriter;
  }

  private compile(tail: string): unknown {
    const make = new Function('rt', 'classes', `${this.functions.join('\n')}\n${tail}`) as (
      rt: typeof runtime,
      classes: unknown[],
    ) => unknown;
    return make(runtime, this.classes);
  }

  /** Source of a statement writing expression `x` of `type`. */
  private value(type: IdlTypeJson, x: string, where: string): string {
    const id = type.typeId;
    const primitive = PRIMITIVE_WRITES[id];
    if (primitive) return `o.${primitive}(${x});`;
    if (id === 'struct' || id === 'union' || id === 'exception') return `${this.struct(type.class)}(o, ${x});`;
    if (id === 'list' || id === 'set') {
      const elem = type.elemType ?? { typeId: type.elemTypeId ?? '?' };
      const a = this.var('a');
      const i = this.var('i');
      const begin = id === 'list' ? 'writeListBegin' : 'writeSetBegin';
      const end = id === 'list' ? 'writeListEnd' : 'writeSetEnd';
      return (
        `{ const ${a} = rt.elements(${x}, ${JSON.stringify(where)}); o.${begin}(${typeCode(elem)}, ${a}.length); ` +
        `for (let ${i} = 0; ${i} < ${a}.length; ${i}++) { ${this.value(elem, `${a}[${i}]`, `${where}[]`)} } o.${end}(); }`
      );
    }
    if (id === 'map') {
      const key = type.keyType ?? { typeId: type.keyTypeId ?? '?' };
      const val = type.valueType ?? { typeId: type.valueTypeId ?? '?' };
      const m = this.var('m');
      const k = this.var('k');
      const e = this.var('e');
      const ks = this.var('ks');
      const i = this.var('i');
      const head = `o.writeMapBegin(${typeCode(key)}, ${typeCode(val)}, `;
      return (
        `{ const ${m} = ${x}; if (${m} instanceof Map) { ${head}${m}.size); ` +
        `for (const [${k}, ${e}] of ${m}) { ${this.value(key, k, `${where}{key}`)} ${this.value(val, e, `${where}{}`)} } } ` +
        `else { const ${ks} = rt.keysOf(rt.object(${m}, ${JSON.stringify(where)})); ${head}${ks}.length); ` +
        `for (let ${i} = 0; ${i} < ${ks}.length; ${i}++) { const ${k} = ${ks}[${i}]; ${this.value(key, k, `${where}{key}`)} ` +
        `${this.value(val, `${m}[${k}]`, `${where}{}`)} } } o.writeMapEnd(); }`
      );
    }
    throw new Unsupported(`type ${id}`);
  }

  /** Name of the compiled writer of struct `name`, generating it (and what it uses) once. */
  private struct(name: string | undefined): string {
    if (!name) throw new Unsupported('struct without a class');
    const done = this.emitted.get(name);
    if (done) return done;
    const def = this.structs.get(name);
    const Class = this.types[name];
    if (!def || typeof Class !== 'function') throw new Unsupported(`struct ${name}`);
    const fn = `w_${name.replace(/\W/g, '_')}`;
    this.emitted.set(name, fn);
    try {
      this.functions.push(this.structFunction(fn, name, def, this.classes.push(Class) - 1));
    } catch (err) {
      this.emitted.delete(name);
      throw err;
    }
    return fn;
  }

  private structFunction(fn: string, name: string, def: { fields: IdlFieldJson[] }, cls: number): string {
    const lines = [`function ${fn}(o, v) {`, `v = rt.object(v, ${JSON.stringify(name)});`];
    // A class instance has the IDL defaults from its constructor; a plain object takes them
    // from an instance made once (the generated code would construct one per value).
    const defaulted = def.fields.some((f) => f.default !== undefined);
    if (defaulted) {
      const defaults = this.classes.push(new (this.types[name] as new () => unknown)()) - 1;
      lines.push(`const d = v instanceof classes[${cls}] ? undefined : classes[${defaults}];`);
    }
    lines.push(`o.writeStructBegin(${JSON.stringify(name)});`, 'let f;');
    for (const field of def.fields) {
      const where = `${name}.${field.name}`;
      const type = field.type ?? field;
      const key = JSON.stringify(field.name);
      lines.push(
        field.default !== undefined ? `f = v[${key}]; if (f == null && d) f = d[${key}];` : `f = v[${key}];`,
        `if (f != null) { o.writeFieldBegin(${JSON.stringify(field.name)}, ${typeCode(type)}, ${field.key}); ${this.value(type, 'f', where)} o.writeFieldEnd(); }` +
          (field.required === 'required' ? ` else rt.unset(${JSON.stringify(`field '${field.name}' of ${name}`)});` : ''),
      );
    }
    lines.push('o.writeFieldStop();', 'o.writeStructEnd();', '}');
    return lines.join('\n');
  }

  private var(prefix: string): string {
    return `${prefix}${this.vars++}`;
  }
}

function typeCode(type: IdlTypeJson): number {
  const code = TYPE_CODES[type.typeId];
  if (code === undefined) throw new Unsupported(`type ${type.typeId}`);
  return code;
}
