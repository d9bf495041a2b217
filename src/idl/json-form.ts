/**
 * The JSON form of Thrift values: how `rpc call` reads arguments and prints results, how the
 * generic codec takes and gives values, and how constant and default values are evaluated.
 *
 * | Thrift | JSON |
 * | --- | --- |
 * | bool | `true` / `false` |
 * | i8, i16, i32 | number |
 * | i64 | number when it is a safe integer (\|n\| < 2^53), else a string of decimal digits; both accepted |
 * | double | number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings (JSON has no such numbers) |
 * | string | string |
 * | binary | base64 string; `{"hex": "..."}` or `{"utf8": "..."}` also accepted |
 * | uuid | `"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"` |
 * | enum | the member's name; a number also accepted (and printed when no member has it) |
 * | struct, exception | object by field name; unset fields left out |
 * | union | an object with exactly one key |
 * | list, set | array |
 * | map | object when the key type is a string, number, bool, enum, uuid or binary (keys in their JSON form, as text); else an array of `[key, value]` pairs (accepted for any map) |
 */
/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Whether a map with this key type is a JSON object (else an array of `[key, value]` pairs). */
export function mapIsObject(key: { readonly kind: string }): boolean {
  return key.kind !== 'struct' && key.kind !== 'list' && key.kind !== 'set' && key.kind !== 'map';
}

/** An i64 in the JSON form: a number when safe, else its decimal digits. */
export function i64ToJson(v: bigint): number | string {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
}

/** A double in the JSON form (non-finite values as strings). */
export function doubleToJson(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Sets `obj[key]`, also for a key such as `__proto__` that plain assignment would not create. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// --- internal ---

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
