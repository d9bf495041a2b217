/**
 * `GenericClient`: calls any method of a Thrift service from its IDL, read at run time, with
 * values in the JSON form (`src/idl/json-form.ts`), and no generated code. It runs on the same
 * call engine as ThriftClient (pools, pipelining, failover, deadlines, THeader headers, registry
 * discovery, TLS), through a method table built from the IDL (`src/codec/generic-method.ts`).
 * `rpc call` is this client on the command line.
 */
import { didYouMean } from '../src/common/nearest-names.js';
import { checkArguments, DeclaredException, genericService } from '../src/codec/generic-method.js';
import { IdlModel } from '../src/idl/idl-model.js';
import type { JsonValue } from '../src/idl/json-form.js';
import type { ResolvedFunction, ResolvedService } from '../src/idl/resolved.js';
import { callerDir } from './caller-dir.js';
import { validateServiceOptions } from './client-config.js';
import type { ServiceClientOptions } from './client-options.js';
import { UnknownMethodError, UnknownServiceError } from './errors.js';
import { ServiceClient, type ServiceClientRuntime } from './service-client.js';

export { DeclaredException } from '../src/codec/generic-method.js';
export { InvalidValueError } from '../src/codec/generic-values.js';

/** Options of a {@link GenericClient}: those of a ThriftClient service entry, plus the IDL. */
export interface GenericClientOptions extends ServiceClientOptions {
  /** IDL file(s), includes followed, or a model already loaded. */
  idl: string | readonly string[] | IdlModel;
  /** Folders searched for includes after the including file's own (`-I`). @default [] */
  includeDirs?: string[];
  /** The service's name in the IDL (`Service`, or `file.Service` when two files define one). */
  service: string;
  /** The name the service is registered under on a multiplexed server. @default undefined (not multiplexed) */
  multiplexed?: string;
}

/**
 * A client for one service, described by its IDL at run time.
 * @example
 * const client = new GenericClient({ idl: 'idl/Catalog.thrift', service: 'Catalog', addresses: ['127.0.0.1:9091'], transport: 'framed' });
 * const item = await client.call('get', { id: 7 });             // or positional: [7]
 * try { await client.call('get', [404]); } catch (err) { if (err instanceof DeclaredException) console.log(err.exception, err.value); }
 * await client.close();
 */
export class GenericClient {
  /** The service as the IDL describes it. */
  readonly service: ResolvedService;
  /** The call engine (the one ThriftClient uses). */
  readonly engine: ServiceClient;

  /**
   * @throws IdlParseError / IdlIncludeError / IdlResolveError for the IDL, UnknownServiceError
   *   (with the nearest names), ClientConfigError for the connection options
   */
  constructor(options: GenericClientOptions, runtime?: ServiceClientRuntime) {
    const { idl, includeDirs, service, multiplexed, ...clientOptions } = options;
    const model = idl instanceof IdlModel ? idl : IdlModel.load(idl, { includeDirs });
    this.service = findService(model, service);
    // Relative TLS paths resolve like an import in the calling file, as in ThriftClient.config().
    const resolved = validateServiceOptions(this.service.name, clientOptions, callerDir(), { generatedCode: false });
    this.engine = new ServiceClient(resolved, runtime, genericService(this.service, { multiplexed }));
  }

  /**
   * The function `name` of the service (inherited ones included).
   * @throws UnknownMethodError naming the nearest methods
   */
  method(name: string): ResolvedFunction {
    const fn = this.service.functions.get(name);
    if (!fn) {
      const names = [...this.service.functions.keys()];
      throw new UnknownMethodError(
        `service ${this.service.name} has no method ${name}${didYouMean(name, names)} (methods: ${names.join(', ')})`,
      );
    }
    return fn;
  }

  /**
   * Calls `method` with arguments by name (`{ id: 7 }`) or in order (`[7]`), in the JSON form.
   * Resolves to the result in the JSON form (undefined for void and oneway methods); rejects with
   * a {@link DeclaredException} for an exception the method declares, a TApplicationException
   * when the server failed the call, the client's errors (`ERR_CONNECT_FAILED`,
   * `ERR_CALL_TIMEOUT`, ...) otherwise. Arguments are checked before anything is sent.
   * @throws InvalidValueError (`ERR_INVALID_ARGUMENT`) naming the argument path, UnknownMethodError
   */
  async call(method: string, args?: Record<string, unknown> | unknown[]): Promise<JsonValue | undefined> {
    const fn = this.method(method);
    const checked = checkArguments(fn, args);
    return (await this.engine.call(fn.name, [checked])) as JsonValue | undefined;
  }

  /** Drains: pending calls finish, connections close. Idempotent. */
  close(): Promise<void> {
    return this.engine.close();
  }

  /** Aborts: pending calls are rejected now. Idempotent. */
  destroy(): Promise<void> {
    return this.engine.destroy();
  }
}

/** Whether `err` is an exception the called method declares. */
export function isDeclaredException(err: unknown): err is DeclaredException {
  return err instanceof DeclaredException;
}

// --- internal ---

function findService(model: IdlModel, name: string): ResolvedService {
  const found = model.findService(name);
  if (found.length === 1) return found[0]!;
  const all = model.services();
  if (found.length > 1) {
    throw new UnknownServiceError(
      `service ${name} is defined in ${found.map((s) => s.document.file).join(' and ')}: name it as ` +
        found.map((s) => `${s.document.name}.${s.name}`).join(' or '),
    );
  }
  const names = all.map((s) => s.name);
  throw new UnknownServiceError(
    `the IDL defines no service ${name}${didYouMean(name, names)} (services: ${names.join(', ') || 'none'})`,
  );
}
