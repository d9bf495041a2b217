/**
 * Makes node-int64 `Int64` values (what the `thrift` library decodes an i64 into) readable:
 * `console.log` / `util.inspect` print `Int64(1234)` instead of a buffer dump, and
 * `JSON.stringify` writes the decimal digits as a string (a JSON number cannot carry every
 * i64 exactly). Patches the prototype of the copy of node-int64 that `thrift` itself loads,
 * once, when the host or client entry is loaded; the wire codec is not involved.
 */
import { createRequire } from 'node:module';
import util from 'node:util';

const PATCHED = Symbol.for('thrifthost.int64Inspect');

/** Installs `toJSON` and `util.inspect.custom` on node-int64's prototype. Idempotent. */
export function installInt64Inspect(): void {
  let Int64: { prototype: Record<PropertyKey, unknown> } | undefined;
  try {
    // The copy thrift requires: a project may hold another one elsewhere in node_modules.
    Int64 = createRequire(require.resolve('thrift'))('node-int64');
  } catch {
    return;
  }
  const proto = Int64?.prototype;
  if (!proto || proto[PATCHED]) return;
  Object.defineProperty(proto, PATCHED, { value: true });
  Object.defineProperty(proto, 'toJSON', {
    configurable: true,
    writable: true,
    value: function toJSON(this: { buffer: Buffer; offset: number }): string {
      return decimal(this);
    },
  });
  Object.defineProperty(proto, util.inspect.custom, {
    configurable: true,
    writable: true,
    value: function inspect(this: { buffer: Buffer; offset: number }): string {
      return `Int64(${decimal(this)})`;
    },
  });
}

// --- internal ---

function decimal(v: { buffer: Buffer; offset: number }): string {
  return v.buffer.readBigInt64BE(v.offset ?? 0).toString();
}

installInt64Inspect();
