/**
 * The statements generated code runs to read, write and copy one value of a resolved type,
 * calling the protocol the way Apache's generated JavaScript does (`readI32()`,
 * `writeListBegin(etype, size)`, ...), so the bytes on the wire are Apache's. Unlike Apache's
 * code it loops over arrays by index, accepts a plain object wherever a struct goes, checks the
 * shape of what it writes (an array where a list goes, an object where a struct goes), reads a
 * map whose keys are structs or containers into a `Map`, and keeps i64 in one representation.
 */
import type { ResolvedType } from '../idl/resolved.js';
import { GenError } from '../host/host-errors.js';
import type { JsScope } from './js-scope.js';

/** `Thrift.Type` name of a type on the wire. */
export function wireType(type: ResolvedType): string {
  return `$T.${WIRE[type.kind]}`;
}

/** Whether a map with this key type is decoded into a plain object (else into a `Map`). */
export function objectKeyed(key: ResolvedType): boolean {
  return key.kind !== 'struct' && key.kind !== 'list' && key.kind !== 'set' && key.kind !== 'map';
}

/** Statements reading one value of `type` from `input` and handing its expression to `assign`. */
export function readValue(type: ResolvedType, assign: (expr: string) => string, scope: JsScope): string {
  switch (type.kind) {
    case 'struct':
      return assign(`${scope.struct(type.struct)}.read(input)`);
    case 'list':
    case 'set': {
      const [a, h, i, n] = [scope.v('a'), scope.v('h'), scope.v('i'), scope.v('n')];
      const [begin, end] = type.kind === 'list' ? ['readListBegin', 'readListEnd'] : ['readSetBegin', 'readSetEnd'];
      return (
        `{ const ${a} = []; const ${h} = input.${begin}(); ` +
        `for (let ${i} = 0, ${n} = ${h}.size; ${i} < ${n}; ++${i}) { ${readValue(type.element, (e) => `${a}.push(${e});`, scope)} } ` +
        `input.${end}(); ${assign(a)} }`
      );
    }
    case 'map': {
      const [m, h, i, n, k] = [scope.v('m'), scope.v('h'), scope.v('i'), scope.v('n'), scope.v('k')];
      const object = objectKeyed(type.key);
      const key = object ? readKey(type.key, k) : readValue(type.key, (e) => `${k} = ${e};`, scope);
      const put = !object
        ? (e: string) => `${m}.set(${k}, ${e});`
        : type.key.kind === 'string' || type.key.kind === 'binary'
          ? (e: string) => `$setKey(${m}, ${k}, ${e});`
          : (e: string) => `${m}[${k}] = ${e};`;
      return (
        `{ const ${m} = ${object ? '{}' : 'new $Map()'}; const ${h} = input.readMapBegin(); ` +
        `for (let ${i} = 0, ${n} = ${h}.size; ${i} < ${n}; ++${i}) { let ${k}; ${key} ${readValue(type.value, put, scope)} } ` +
        `input.readMapEnd(); ${assign(m)} }`
      );
    }
    default:
      return assign(readScalar(type));
  }
}

/**
 * Statements writing expression `x` of `type` to `output`; `where` names the value in the
 * TypeError thrown for a value of the wrong shape.
 */
export function writeValue(type: ResolvedType, x: string, where: string, scope: JsScope): string {
  const at = JSON.stringify(where);
  switch (type.kind) {
    case 'struct':
      return `${scope.struct(type.struct)}.write(output, ${x}, ${at});`;
    case 'list':
    case 'set': {
      const [a, i] = [scope.v('a'), scope.v('i')];
      const [begin, end] = type.kind === 'list' ? ['writeListBegin', 'writeListEnd'] : ['writeSetBegin', 'writeSetEnd'];
      return (
        `{ const ${a} = $list(${x}, ${at}); output.${begin}(${wireType(type.element)}, ${a}.length); ` +
        `for (let ${i} = 0; ${i} < ${a}.length; ++${i}) { ${writeValue(type.element, `${a}[${i}]`, `${where}[]`, scope)} } output.${end}(); }`
      );
    }
    case 'map': {
      const [m, k, e, o, ks, i] = [scope.v('m'), scope.v('k'), scope.v('e'), scope.v('o'), scope.v('ks'), scope.v('i')];
      const begin = `output.writeMapBegin(${wireType(type.key)}, ${wireType(type.value)}, `;
      const entries =
        `${begin}${m}.size); for (const [${k}, ${e}] of ${m}) { ${writeValue(type.key, k, `${where}{key}`, scope)} ` +
        `${writeValue(type.value, e, `${where}{}`, scope)} }`;
      if (!objectKeyed(type.key)) return `{ const ${m} = $map(${x}, ${at}); ${entries} output.writeMapEnd(); }`;
      // A plain object's keys are strings: each is written as the key type it stands for.
      return (
        `{ const ${m} = ${x}; if (${m} instanceof $Map) { ${entries} } else { const ${o} = $struct(${m}, ${at}); ` +
        `const ${ks} = $Object.keys(${o}); ${begin}${ks}.length); for (let ${i} = 0; ${i} < ${ks}.length; ++${i}) { ` +
        `const ${k} = ${ks}[${i}]; ${writeKey(type.key, k)} ${writeValue(type.value, `${o}[${k}]`, `${where}{}`, scope)} } } output.writeMapEnd(); }`
      );
    }
    case 'i64':
      return `$w64(output, ${x});`;
    default:
      return `output.${WRITE[type.kind]}(${x});`;
  }
}

/**
 * An expression copying `x` of `type`, as the generated constructors copy their arguments
 * (Apache's `Thrift.copyList` / `copyMap`): containers are new arrays and objects, and a struct
 * is built with its class from whatever object describes it.
 */
export function copyValue(type: ResolvedType, x: string, scope: JsScope): string {
  switch (type.kind) {
    case 'struct':
      return `new ${scope.struct(type.struct)}(${x})`;
    case 'list':
    case 'set': {
      if (!needsCopy(type.element)) return `$Array.from(${x})`;
      const e = scope.v('e');
      return `$Array.from(${x}, (${e}) => ${copyValue(type.element, e, scope)})`;
    }
    case 'map': {
      const [k, e] = [scope.v('k'), scope.v('e')];
      const key = needsCopy(type.key) ? `(${k}) => ${copyValue(type.key, k, scope)}` : 'undefined';
      const value = needsCopy(type.value) ? `(${e}) => ${copyValue(type.value, e, scope)}` : 'undefined';
      return `$copyMap(${x}, ${key}, ${value})`;
    }
    default:
      return x;
  }
}

// --- internal ---

const WIRE: Record<ResolvedType['kind'], string> = {
  bool: 'BOOL',
  i8: 'BYTE',
  i16: 'I16',
  i32: 'I32',
  i64: 'I64',
  double: 'DOUBLE',
  string: 'STRING',
  binary: 'STRING',
  uuid: 'UUID',
  enum: 'I32',
  struct: 'STRUCT',
  list: 'LIST',
  set: 'SET',
  map: 'MAP',
};

const WRITE: Partial<Record<ResolvedType['kind'], string>> = {
  bool: 'writeBool',
  i8: 'writeByte',
  i16: 'writeI16',
  i32: 'writeI32',
  enum: 'writeI32',
  double: 'writeDouble',
  string: 'writeString',
  binary: 'writeBinary',
};

function readScalar(type: ResolvedType): string {
  switch (type.kind) {
    case 'bool':
      return 'input.readBool()';
    case 'i8':
      return 'input.readByte()';
    case 'i16':
      return 'input.readI16()';
    case 'i32':
    case 'enum':
      return 'input.readI32()';
    case 'i64':
      return '$i64(input.readI64())';
    case 'double':
      return 'input.readDouble()';
    case 'string':
      return 'input.readString()';
    case 'binary':
      return 'input.readBinary()';
    default:
      throw new GenError(`${type.kind} values are not supported in JavaScript by the thrift library`);
  }
}

/** Statements reading a map key into variable `k` as the plain object keys it (a string). */
function readKey(type: ResolvedType, k: string): string {
  if (type.kind === 'i64') return `${k} = $key64(input.readI64());`;
  if (type.kind === 'binary') return `${k} = input.readBinary().toString();`;
  return `${k} = ${readScalar(type)};`;
}

/** Statements writing the string key `k` of a plain object as a value of `type`. */
function writeKey(type: ResolvedType, k: string): string {
  switch (type.kind) {
    case 'string':
      return `output.writeString(${k});`;
    case 'binary':
      return `output.writeBinary(${k});`;
    case 'bool':
      return `output.writeBool($boolKey(${k}));`;
    case 'i64':
      return `$w64(output, $bigKey(${k}));`;
    default:
      return `output.${WRITE[type.kind]}(+${k});`;
  }
}

function needsCopy(type: ResolvedType): boolean {
  return type.kind === 'struct' || type.kind === 'list' || type.kind === 'set' || type.kind === 'map';
}
