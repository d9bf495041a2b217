/**
 * Test helper: sample values of any IDL type, drawn from a seeded generator, as plain objects
 * (structs as objects of their fields, i64 as node-int64 `Int64` or bigint), and a normal form
 * to compare decoded values by content whatever classes and i64 representation hold them.
 */
import thrift from 'thrift';
import type { ResolvedField, ResolvedType } from '../../src/idl/resolved.js';

/** A deterministic generator of numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** How samples are drawn. */
export interface SampleOptions {
  rnd: () => number;
  /**
   * Only what Apache's generated JavaScript can encode: no map keyed by a struct or container
   * (it keys a plain object by "[object Object]"), i64 map keys within 2^53 (its keys go
   * through a double).
   */
  apache: boolean;
  /** i64 values as `Int64` (default) or bigint. */
  i64?: 'int64' | 'bigint';
  /** Fields set in every sample, at any depth. */
  keep?: (field: Pick<ResolvedField, 'name' | 'type' | 'requiredness'>) => boolean;
}

/** A sample value of `type`. */
export function sample(type: ResolvedType, o: SampleOptions, depth = 0): unknown {
  const { rnd } = o;
  const int = (bits: number) => Math.floor(rnd() * 2 ** bits) - 2 ** (bits - 1);
  const count = () => (depth > 3 ? 0 : Math.floor(rnd() * 4));
  switch (type.kind) {
    case 'bool':
      return rnd() < 0.5;
    case 'i8':
      return int(8);
    case 'i16':
      return int(16);
    case 'i32':
      return int(32);
    case 'i64': {
      const hi = BigInt(int(32));
      const v = (hi << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
      return o.i64 === 'bigint' ? v : thrift.fromBigInt(v);
    }
    case 'double':
      return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12);
    case 'string':
      return ['', 'a', 'héllo wörld', '日本語', 'x'.repeat(Math.floor(rnd() * 40))][Math.floor(rnd() * 5)];
    case 'binary':
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256)));
    case 'uuid':
      throw new Error('uuid is not sampled');
    case 'enum': {
      const values = [...type.enum.byName.values()];
      return values[Math.floor(rnd() * values.length)];
    }
    case 'struct':
      return sampleStruct(type.struct.kind, type.struct.fields, o, depth + 1);
    case 'list':
    case 'set':
      return Array.from({ length: count() }, () => sample(type.element, o, depth + 1));
    case 'map': {
      const key = type.key;
      const n = count();
      if (key.kind === 'struct' || key.kind === 'list' || key.kind === 'set' || key.kind === 'map') {
        return new Map(o.apache ? [] : Array.from({ length: n }, () => [sample(key, o, depth + 1), sample(type.value, o, depth + 1)]));
      }
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[objectKey(key, o)] = sample(type.value, o, depth + 1);
      return out;
    }
  }
}

/**
 * A sample struct: every required field set, a union with exactly one member, other fields set
 * or left out at random.
 */
export function sampleStruct(
  kind: 'struct' | 'union' | 'exception',
  fields: readonly Pick<ResolvedField, 'name' | 'type' | 'requiredness'>[],
  o: SampleOptions,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (kind === 'union') {
    const usable = fields.filter((f) => !(o.apache && hasStructKeys(f.type)));
    if (usable.length === 0) return out;
    const f = usable[Math.floor(o.rnd() * usable.length)]!;
    out[f.name] = sample(f.type, o, depth);
    return out;
  }
  for (const f of fields) {
    if (f.requiredness === 'required' || o.keep?.(f) || o.rnd() < 0.7) out[f.name] = sample(f.type, o, depth);
  }
  return out;
}

/**
 * The normal form of a decoded or sample value: class instances as plain objects of their IDL
 * fields (an Error's own `name`, `message`, `stack` left out unless `fields` names them), i64 as
 * bigint, Buffers as hex, Maps as entry lists.
 */
export function normal(v: unknown, fields?: (obj: object) => readonly string[] | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (v instanceof thrift.Int64) return thrift.toBigInt(v);
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map((x) => normal(x, fields));
  // An empty map keyed by structs: Apache's code decodes it into `{}` (it cannot hold such keys).
  if (v instanceof Map) return v.size === 0 ? {} : { $map: [...v].map(([k, x]) => [normal(k, fields), normal(x, fields)]) };
  if (typeof v === 'object') {
    const names = fields?.(v);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (names ? !names.includes(k) : v instanceof Error && (k === 'name' || k === 'message')) continue;
      if (x === null || x === undefined) continue;
      out[k] = normal(x, fields);
    }
    return out;
  }
  return v;
}

/** Whether a type holds, anywhere inside, a map keyed by a struct or container. */
export function hasStructKeys(type: ResolvedType, seen = new Set<unknown>()): boolean {
  switch (type.kind) {
    case 'list':
    case 'set':
      return hasStructKeys(type.element, seen);
    case 'map':
      return (
        type.key.kind === 'struct' ||
        type.key.kind === 'list' ||
        type.key.kind === 'set' ||
        type.key.kind === 'map' ||
        hasStructKeys(type.value, seen)
      );
    default:
      return false;
  }
}

// --- internal ---

function objectKey(key: ResolvedType, o: SampleOptions): string {
  const { rnd } = o;
  switch (key.kind) {
    case 'bool':
      return String(rnd() < 0.5);
    case 'i64':
      // Apache's decoder keys through a double: within 2^53 both agree.
      return String(Math.floor((rnd() - 0.5) * 2 ** (o.apache ? 50 : 53)));
    case 'double':
      return String(Math.round((rnd() - 0.5) * 1000) / 4);
    case 'string':
    case 'binary':
      return ['k', 'key', 'ключ', '', '__proto__x'][Math.floor(rnd() * 5)]! + Math.floor(rnd() * 100);
    case 'enum':
      return String(sample(key, o));
    default:
      return String(sample(key, o));
  }
}
