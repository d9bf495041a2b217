/**
 * The write side of the generic codec, step one: a value in the JSON form (`src/idl/json-form.ts`)
 * checked against its IDL type and turned into what the wire takes (i64 as bigint, binary as a
 * Buffer, enum as its number, a map as [key, value] pairs, a struct as its set fields in IDL
 * order, defaults filled in as generated code fills them). Every mistake names its path in the
 * arguments: `order.items[2].qty: expected i32, got "x"`. Nothing is written until the whole
 * call is known to be valid, so a bad argument never costs a connection.
 */
import { ThriftHostError, type ThriftHostErrorOptions } from '../common/errors.js';
import { didYouMean } from '../common/nearest-names.js';
import { shortName, typeName } from '../idl/const-values.js';
import { mapIsObject } from '../idl/json-form.js';
import type { ResolvedField, ResolvedStruct, ResolvedType } from '../idl/resolved.js';

/** A JSON-form value does not fit its IDL type; `path` says where (`order.items[2].qty`). */
export class InvalidValueError extends ThriftHostError {
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: ThriftHostErrorOptions,
  ) {
    super('ERR_INVALID_ARGUMENT', `${path}: ${problem}`, options);
  }
}

/** A value ready for the wire (see the module comment). */
export type WireValue = boolean | number | bigint | string | Buffer | WireValue[] | WireMap | WireStruct;

/** A map's entries. */
export interface WireMap {
  readonly entries: readonly (readonly [WireValue, WireValue])[];
}

/** A struct's set fields, in IDL order. */
export interface WireStruct {
  readonly struct: ResolvedStruct;
  readonly fields: readonly (readonly [ResolvedField, WireValue])[];
}

/**
 * Checks `value` (JSON form; bigint and Buffer are taken too) against `type`.
 * @throws InvalidValueError naming `path`
 */
export function toWire(type: ResolvedType, value: unknown, path: string): WireValue {
  const wrong = (): never => {
    throw new InvalidValueError(path, `expected ${expectation(type)}, got ${describe(value)}`);
  };
  switch (type.kind) {
    case 'bool':
      return typeof value === 'boolean' ? value : wrong();
    case 'i8':
    case 'i16':
    case 'i32': {
      const bits = type.kind === 'i8' ? 7 : type.kind === 'i16' ? 15 : 31;
      if (typeof value === 'bigint') value = Number(value);
      if (typeof value !== 'number' || !Number.isInteger(value)) return wrong();
      if (value < -(2 ** bits) || value >= 2 ** bits) {
        throw new InvalidValueError(path, `${value} is out of range for ${type.kind} (${-(2 ** bits)} to ${2 ** bits - 1})`);
      }
      return value;
    }
    case 'i64': {
      let v: bigint;
      if (typeof value === 'bigint') v = value;
      else if (typeof value === 'number' && Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) {
          throw new InvalidValueError(path, `${value} is beyond 2^53 and may have lost digits; give an i64 this large as a string ("12345678901234567890")`);
        }
        v = BigInt(value);
      } else if (typeof value === 'string' && /^[+-]?\d{1,20}$/.test(value)) v = BigInt(value);
      else return wrong();
      if (v !== BigInt.asIntN(64, v)) throw new InvalidValueError(path, `${v} is out of range for i64`);
      return v;
    }
    case 'double':
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
      return wrong();
    case 'string':
      return typeof value === 'string' ? value : wrong();
    case 'binary':
      return binaryValue(value, path) ?? wrong();
    case 'uuid':
      if (typeof value !== 'string' || !UUID.test(value)) return wrong();
      return value.toLowerCase();
    case 'enum': {
      const e = type.enum;
      if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
      if (typeof value === 'string') {
        const name = value.startsWith(`${e.name}.`) ? value.slice(e.name.length + 1) : value;
        const n = e.byName.get(name);
        if (n !== undefined) return n;
        throw new InvalidValueError(
          path,
          `${JSON.stringify(value)} is not a member of enum ${e.name}${didYouMean(name, e.byName.keys())} (members: ${[...e.byName.keys()].join(', ')})`,
        );
      }
      return wrong();
    }
    case 'list':
    case 'set':
      if (!Array.isArray(value)) return wrong();
      return value.map((v, i) => toWire(type.element, v, `${path}[${i}]`));
    case 'map':
      return mapValue(type, value, path) ?? wrong();
    case 'struct':
      if (!isPlainObject(value)) return wrong();
      return structValue(type.struct, value, path);
  }
}

/**
 * A struct from an object by field name: unknown names refused (with the nearest ones), a
 * `null` taken as unset, defaults filled in, required fields checked, a union given exactly one.
 */
export function structValue(struct: ResolvedStruct, value: Record<string, unknown>, path: string): WireStruct {
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const key of Object.keys(value)) {
    if (!struct.fields.some((f) => f.name === key)) {
      const names = struct.fields.map((f) => f.name);
      throw new InvalidValueError(
        at(key),
        `${struct.kind} ${struct.name} has no field ${key}${didYouMean(key, names)} (fields: ${names.join(', ') || 'none'})`,
      );
    }
  }
  const fields: [ResolvedField, WireValue][] = [];
  for (const f of struct.fields) {
    let v = Object.hasOwn(value, f.name) ? value[f.name] : undefined;
    if (v === null || v === undefined) {
      if (struct.kind === 'union') continue;
      if (f.defaultValue === undefined) {
        if (f.requiredness === 'required') {
          throw new InvalidValueError(at(f.name), `required field of ${struct.name} (${shortName(f.type)}) is missing`);
        }
        continue;
      }
      v = f.defaultValue;
    }
    fields.push([f, toWire(f.type, v, at(f.name))]);
  }
  if (struct.kind === 'union' && fields.length !== 1) {
    throw new InvalidValueError(
      path || struct.name,
      `union ${struct.name} takes exactly one field, got ${fields.length === 0 ? 'none' : fields.map(([f]) => f.name).join(', ')} (fields: ${struct.fields.map((f) => f.name).join(', ')})`,
    );
  }
  return { struct, fields };
}

/** What a value of `type` looks like in JSON, for messages. */
export function expectation(type: ResolvedType): string {
  switch (type.kind) {
    case 'i64':
      return 'i64 (a number or a string of digits)';
    case 'binary':
      return 'binary (a base64 string, {"hex": "..."} or {"utf8": "..."})';
    case 'uuid':
      return 'uuid ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")';
    case 'enum':
      return `enum ${type.enum.name} (a member name or a number)`;
    case 'struct':
      return `${type.struct.kind} ${type.struct.name} (an object)`;
    case 'list':
    case 'set':
      return `${typeName(type)} (an array)`;
    case 'map':
      return mapIsObject(type.key) ? `${typeName(type)} (an object or [key, value] pairs)` : `${typeName(type)} (an array of [key, value] pairs)`;
    default:
      return type.kind;
  }
}

// --- internal ---

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function binaryValue(value: unknown, path: string): Buffer | undefined {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') {
    if (BASE64.test(value)) return Buffer.from(value, 'base64');
    if (BASE64URL.test(value) && value.length % 4 !== 1) return Buffer.from(value, 'base64url');
    throw new InvalidValueError(path, `${describe(value)} is not base64 (for text write {"utf8": "..."}, for hex {"hex": "..."})`);
  }
  if (isPlainObject(value) && Object.keys(value).length === 1) {
    if (typeof value.utf8 === 'string') return Buffer.from(value.utf8, 'utf8');
    if (typeof value.hex === 'string') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(value.hex)) throw new InvalidValueError(`${path}.hex`, `${describe(value.hex)} is not hex digits in pairs`);
      return Buffer.from(value.hex, 'hex');
    }
    if (typeof value.base64 === 'string') return binaryValue(value.base64, path);
  }
  return undefined;
}

function mapValue(type: Extract<ResolvedType, { kind: 'map' }>, value: unknown, path: string): WireMap | undefined {
  if (Array.isArray(value)) {
    return {
      entries: value.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) {
          throw new InvalidValueError(`${path}[${i}]`, `expected a [key, value] pair, got ${describe(pair)}`);
        }
        return [toWire(type.key, pair[0], `${path}[${i}][0]`), toWire(type.value, pair[1], `${path}[${i}][1]`)] as const;
      }),
    };
  }
  if (!isPlainObject(value) || !mapIsObject(type.key)) return undefined;
  return {
    entries: Object.entries(value).map(([k, v]) => {
      const at = `${path}[${JSON.stringify(k)}]`;
      return [toWire(type.key, keyValue(type.key, k, at), at), toWire(type.value, v, at)] as const;
    }),
  };
}

/** An object key (always text) as the JSON value of the key type. */
function keyValue(type: ResolvedType, key: string, path: string): unknown {
  switch (type.kind) {
    case 'i8':
    case 'i16':
    case 'i32':
      if (!/^[+-]?\d+$/.test(key)) throw new InvalidValueError(path, `map key ${JSON.stringify(key)} is not an integer (${type.kind})`);
      return Number(key);
    case 'i64':
      return key;
    case 'double':
      if (key.trim() === '' || Number.isNaN(Number(key)) && key !== 'NaN') {
        throw new InvalidValueError(path, `map key ${JSON.stringify(key)} is not a number (double)`);
      }
      return key === 'NaN' || key === 'Infinity' || key === '-Infinity' ? key : Number(key);
    case 'bool':
      if (key !== 'true' && key !== 'false') throw new InvalidValueError(path, `map key ${JSON.stringify(key)} is not true or false`);
      return key === 'true';
    case 'enum':
      return /^[+-]?\d+$/.test(key) ? Number(key) : key;
    default:
      return key;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}
