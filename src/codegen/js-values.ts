/**
 * Constant and default values as JavaScript expressions, from the JSON form the IDL library
 * evaluates them into (`src/idl/json-form.ts`). Each expression builds a fresh value when it
 * runs, so a default list or struct is never shared between two instances.
 */
import type { JsonValue } from '../idl/json-form.js';
import type { ResolvedType } from '../idl/resolved.js';
import { GenError } from '../host/host-errors.js';
import type { JsScope } from './js-scope.js';

/** The expression of `value` (JSON form) as a value of `type`. */
export function jsLiteral(value: JsonValue, type: ResolvedType, scope: JsScope): string {
  switch (type.kind) {
    case 'bool':
      return value ? 'true' : 'false';
    case 'i8':
    case 'i16':
    case 'i32':
      return String(value);
    case 'double':
      return doubleLiteral(value);
    case 'i64':
      return scope.mode === 'bigint' ? `${String(value)}n` : `$thrift.fromBigInt(${String(value)}n)`;
    case 'string':
      return JSON.stringify(value);
    case 'binary':
      return `$Buffer.from(${JSON.stringify(value)}, 'base64')`;
    case 'uuid':
      throw new GenError('uuid values are not supported in JavaScript by the thrift library');
    case 'enum':
      return String(typeof value === 'number' ? value : type.enum.byName.get(String(value)));
    case 'list':
    case 'set':
      return `[${(value as JsonValue[]).map((v) => jsLiteral(v, type.element, scope)).join(', ')}]`;
    case 'map': {
      if (Array.isArray(value)) {
        const pairs = (value as JsonValue[][]).map(([k, v]) => `[${jsLiteral(k!, type.key, scope)}, ${jsLiteral(v!, type.value, scope)}]`);
        return `new $Map([${pairs.join(', ')}])`;
      }
      const entries = Object.entries(value as Record<string, JsonValue>).map(([k, v]) => {
        const key = JSON.stringify(objectKey(k, type.key));
        // A computed key: `{ "__proto__": v }` would set the prototype instead.
        return `[${key}]: ${jsLiteral(v, type.value, scope)}`;
      });
      return `{ ${entries.join(', ')} }`;
    }
    case 'struct': {
      const fields = Object.entries(value as Record<string, JsonValue>).map(([name, v]) => {
        const field = type.struct.fields.find((f) => f.name === name)!;
        return `${JSON.stringify(name)}: ${jsLiteral(v, field.type, scope)}`;
      });
      return `new ${scope.struct(type.struct)}({ ${fields.join(', ')} })`;
    }
  }
}

// --- internal ---

/** A map key of the JSON form as the decoder keys a plain object: enum members by number, binary as text. */
function objectKey(key: string, type: ResolvedType): string {
  if (type.kind === 'enum') return String(type.enum.byName.get(key) ?? key);
  if (type.kind === 'binary') return Buffer.from(key, 'base64').toString('utf8');
  return key;
}

function doubleLiteral(value: JsonValue): string {
  const n = Number(value);
  if (Object.is(n, -0)) return '-0';
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return String(n);
}
