/**
 * A {@link MethodInfo} built from the IDL at run time instead of from generated code: the seam that
 * lets the client's one call engine (pools, pipelining, failover, deadlines, THeader) carry
 * generic calls. Its `Args` class writes arguments checked by `generic-values.ts`; its `Result`
 * class reads the reply into the JSON form and a declared exception into a
 * {@link DeclaredException}. Multiplexing is the method's name on the wire (`Service:method`),
 * as Apache's TMultiplexedProtocol writes it.
 */
import { didYouMean } from '../common/nearest-names.js';
import type { JsonValue } from '../idl/json-form.js';
import type { ResolvedField, ResolvedFunction, ResolvedService, ResolvedStruct } from '../idl/resolved.js';
import type { MethodInfo, ServiceDescription, ThriftStructClass } from './generated-service.js';
import { readStruct, writeStruct } from './generic-codec.js';
import { InvalidValueError, structValue, type WireStruct } from './generic-values.js';
import type { InputProtocol } from './input-protocol.js';

/**
 * An exception the method declares (`throws`), as the server sent it: `exception` is its IDL
 * type name, `value` its fields in the JSON form, `field` the name it has in the `throws` list.
 */
export class DeclaredException extends Error {
  /** Stable code, as on every thrifthost error. */
  readonly code = 'ERR_DECLARED_EXCEPTION';

  constructor(
    readonly exception: string,
    readonly field: string,
    readonly value: Record<string, JsonValue>,
  ) {
    super(`${exception} ${JSON.stringify(value)}`);
    this.name = 'DeclaredException';
  }

  /** The JSON form `rpc call` prints: `{"exception": "NoSuchUser", "value": {...}}`. */
  toJSON(): { exception: string; value: Record<string, JsonValue> } {
    return { exception: this.exception, value: this.value };
  }
}

/** Options of {@link genericService}. */
export interface GenericServiceOptions {
  /** The name the service is registered under on a multiplexed server. @default undefined (not multiplexed) */
  multiplexed?: string;
}

/** Every function of `service` (inherited ones included) as a {@link ServiceDescription}. */
export function genericService(service: ResolvedService, options: GenericServiceOptions = {}): ServiceDescription {
  const methods = new Map<string, MethodInfo>();
  for (const fn of service.functions.values()) methods.set(fn.name, genericMethod(fn, options));
  return { name: service.name, file: service.document.file, methods };
}

/**
 * Checks the arguments of a call: an object by argument name, or an array in argument order.
 * An argument left out is not sent, unless the IDL gives it a default.
 * @returns the argument struct, ready for the `Args` class of {@link genericMethod}
 * @throws InvalidValueError naming the argument path
 */
export function checkArguments(fn: ResolvedFunction, args: unknown): WireStruct {
  const names = fn.params.map((p) => p.name);
  let byName: Record<string, unknown>;
  if (args === undefined || args === null) byName = {};
  else if (Array.isArray(args)) {
    if (args.length > names.length) {
      throw new InvalidValueError(
        `arguments[${names.length}]`,
        `${fn.name} takes ${names.length} argument${names.length === 1 ? '' : 's'} (${names.join(', ') || 'none'}), got ${args.length}`,
      );
    }
    byName = Object.fromEntries(args.map((v, i) => [names[i]!, v]));
  } else if (typeof args === 'object' && !(args instanceof Uint8Array)) byName = args as Record<string, unknown>;
  else {
    throw new InvalidValueError('arguments', `expected an object by argument name or an array in order (${names.join(', ')})`);
  }
  for (const key of Object.keys(byName)) {
    if (!names.includes(key)) {
      throw new InvalidValueError(
        key,
        `${fn.name} has no argument ${key}${didYouMean(key, names)} (arguments: ${names.join(', ') || 'none'})`,
      );
    }
  }
  return structValue(argsStruct(fn), byName, '');
}

// --- internal ---

function genericMethod(fn: ResolvedFunction, options: GenericServiceOptions): MethodInfo {
  const args = argsStruct(fn);
  const success: ResolvedField[] = fn.returnType
    ? [{ id: 0, name: 'success', requiredness: 'optional', type: fn.returnType, defaultValue: undefined, node: undefined as never }]
    : [];
  const result: ResolvedStruct = { ...args, name: `${fn.name}_result`, fields: [...success, ...fn.throws] };
  const returnsValue = fn.returnType !== undefined;

  /** Built by the call engine from `{ argName: value }`; values must come from {@link checkArguments}. */
  class Args {
    constructor(private readonly payload: Record<string, unknown> = {}) {}

    write(out: Parameters<typeof writeStruct>[0]): void {
      const checked = this.payload[WIRE_ARGS] as WireStruct | undefined;
      writeStruct(out, checked ?? checkArguments(fn, this.payload));
    }

    read(): void {
      throw new Error('generic Args are written by clients only');
    }
  }

  class Result {
    [field: string]: unknown;

    constructor() {
      if (returnsValue) this.success = null;
      for (const t of fn.throws) this[t.name] = null;
    }

    read(input: InputProtocol): void {
      const value = readStruct(input, result);
      for (const [name, v] of Object.entries(value)) {
        const thrown = fn.throws.find((t) => t.name === name);
        this[name] = thrown && thrown.type.kind === 'struct'
          ? new DeclaredException(thrown.type.struct.name, name, v as Record<string, JsonValue>)
          : v;
      }
    }

    write(): void {
      throw new Error('generic results are read by clients only');
    }
  }

  return {
    name: options.multiplexed ? `${options.multiplexed}:${fn.name}` : fn.name,
    // One argument: the checked struct (see WIRE_ARGS), so the engine's name-by-position mapping passes it through.
    argNames: [WIRE_ARGS],
    Args: Args as unknown as ThriftStructClass,
    Result: Result as unknown as ThriftStructClass,
    oneway: fn.oneway,
    exceptionFields: fn.throws.map((t) => t.name),
    returnsValue,
  };
}

/** The payload key under which the checked argument struct travels through the call engine. */
const WIRE_ARGS = '__thrifthostWireArgs';

function argsStruct(fn: ResolvedFunction): ResolvedStruct {
  return {
    name: `${fn.name}_args`,
    kind: 'struct',
    document: undefined as never,
    node: undefined as never,
    fields: fn.params,
  };
}
