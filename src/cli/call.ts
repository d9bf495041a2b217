/**
 * `rpc call <address|service> <Service.method> ['<JSON arguments>']`: calls any Thrift method from
 * its IDL, without generated code (grpcurl for Thrift), and prints the result in the JSON form
 * (`src/idl/json-form.ts`). A declared exception is printed on stdout as
 * `{"exception": "Name", "value": {...}}` and exits 10; every other failure is one line on
 * stderr with its own exit code (docs/rpc-call.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import thrift from 'thrift';
import { GenericClient } from '../../clients/generic-client.js';
import type { ServiceClientOptions } from '../../clients/client-options.js';
import { DeclaredException } from '../codec/generic-method.js';
import { InvalidValueError } from '../codec/generic-values.js';
import { parseProtocolName, parseTransportName, PROTOCOLS } from '../codec/protocols.js';
import type { JsonValue } from '../idl/json-form.js';
import { ApplicationExceptionError, DeclaredExceptionExit, UsageError } from './call-errors.js';
import { resolveCallTarget } from './call-target.js';
import { collect, type IdlSourceOptions, loadIdlModel } from './idl-source.js';
import { findConfigFile } from './options.js';

/** Options of `rpc call`. */
export interface CallOptions extends IdlSourceOptions {
  protocol?: string;
  transport?: string;
  multiplexed?: string;
  header?: string[];
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  timeout: string;
  compact?: boolean;
}

/** Default of `--timeout`: the whole call, connecting included. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** The `call` command. */
export function callCommand(): Command {
  return new Command('call')
    .description('call a method of any Thrift service from its IDL; prints the result as JSON')
    .argument('<target>', 'host:port, or a service name of rpc.config.json (or of its registry)')
    .argument('<method>', 'Service.method (or method alone for a configured service)')
    .argument('[arguments]', 'JSON: an object by argument name, or an array in order; "-" reads stdin', '{}')
    .option('--idl <file>', 'IDL file, includes followed (repeatable; default: every idl/*.thrift of the project)', collect)
    .option('-I, --include <dir>', 'include folder searched after the including file\'s (repeatable)', collect)
    .option('--protocol <name>', `protocol: ${PROTOCOLS.join(', ')} (default: the config's, else binary)`)
    .option('--transport <name>', "transport: buffered, framed, header (default: the config's, else buffered)")
    .option('--multiplexed <name>', 'the name the service is registered under on a multiplexed server')
    .option('-H, --header <key:value>', 'THeader header sent with the call (repeatable; --transport header)', collect)
    .option('--tls', 'connect with TLS (the system CAs, or --ca)')
    .option('--ca <file>', 'PEM CA certificate(s) to trust (implies --tls)')
    .option('--cert <file>', 'PEM client certificate (implies --tls; with --key)')
    .option('--key <file>', 'PEM client key (implies --tls; with --cert)')
    .option('--insecure', 'TLS without verifying the server certificate')
    .option('--timeout <ms>', 'time for the whole call, connecting included', String(DEFAULT_CALL_TIMEOUT_MS))
    .option('--compact', 'print the JSON on one line')
    .option('-c, --config <path>', 'host config to look service names up in (default: the nearest rpc.config.json)')
    .action(async (target: string, method: string, argsText: string, options: CallOptions) => {
      const result = await runCall(target, method, argsText, options);
      process.stdout.write(`${JSON.stringify(result ?? null, null, options.compact ? undefined : 2)}\n`);
    });
}

/**
 * Runs one call as `rpc call` does and returns its JSON-form result.
 * @throws the errors `rpc call` maps to exit codes; a declared exception after printing it
 */
export async function runCall(
  target: string,
  method: string,
  argsText: string,
  options: CallOptions,
): Promise<JsonValue | undefined> {
  const configFile = options.config ?? findConfigFile();
  const dot = method.lastIndexOf('.');
  const serviceName = dot > 0 ? method.slice(0, dot) : undefined;
  const methodName = dot > 0 ? method.slice(dot + 1) : method;
  const where = await resolveCallTarget(target, configFile, serviceName);
  const service = serviceName ?? where.service;
  if (!service) {
    throw new UsageError(`name the service: Service.${methodName} (the target ${target} does not say which service it is)`);
  }
  const args = parseArguments(argsText);
  const model = loadIdlModel({ ...options, config: configFile });
  const client = new GenericClient({
    idl: model,
    service,
    ...clientOptions(where.client, options),
    ...(options.multiplexed ?? where.multiplexed ? { multiplexed: options.multiplexed ?? where.multiplexed } : {}),
  });
  try {
    return await client.call(methodName, args as Record<string, unknown>);
  } catch (err) {
    const { protocol, transport } = client.engine.options;
    throw explain(err, `${service}.${methodName}`, where.description, `${protocol}/${transport}`, options.compact);
  } finally {
    await client.destroy();
  }
}

// --- internal ---

function parseArguments(text: string): unknown {
  const source = text === '-' ? fs.readFileSync(0, 'utf8') : text;
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new InvalidValueError('arguments', `not JSON (${(err as Error).message}); quote them for the shell: '{"name": "TOM"}'`);
  }
}

/** The target's connection options with the command line's flags applied over them. */
function clientOptions(base: ServiceClientOptions, o: CallOptions): ServiceClientOptions {
  const timeout = Number(o.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 2 ** 31 - 1) {
    throw new UsageError(`--timeout ${o.timeout} is not a number of milliseconds (1 to 2147483647)`);
  }
  const protocol = o.protocol === undefined ? base.protocol : parseProtocolName(o.protocol);
  if (protocol === undefined && o.protocol !== undefined) {
    throw new UsageError(`--protocol ${o.protocol} is unknown (use ${PROTOCOLS.join(', ')})`);
  }
  const transport = o.transport === undefined ? base.transport : parseTransportName(o.transport);
  if (transport === undefined && o.transport !== undefined) {
    throw new UsageError(`--transport ${o.transport} is unknown (use buffered, framed or header)`);
  }
  const headers: Record<string, string> = {};
  for (const h of o.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`-H ${h}: write a header as key:value`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (o.header?.length && transport !== 'header') {
    throw new UsageError('-H headers travel only in THeader: add --transport header');
  }
  let tls = base.tls;
  if (o.tls || o.ca || o.cert || o.key || o.insecure) {
    const fromConfig = typeof base.tls === 'object' ? base.tls : {};
    tls = {
      ...fromConfig,
      ...(o.ca ? { ca: path.resolve(o.ca) } : {}),
      ...(o.cert ? { cert: path.resolve(o.cert) } : {}),
      ...(o.key ? { key: path.resolve(o.key) } : {}),
      ...(o.insecure ? { rejectUnauthorized: false } : {}),
    };
  }
  return {
    ...base,
    ...(protocol ? { protocol } : {}),
    ...(transport ? { transport } : {}),
    ...(tls ? { tls } : {}),
    headers,
    callTimeoutMs: timeout,
    connectTimeoutMs: timeout,
    // One attempt per address: a CLI call says what failed rather than trying elsewhere,
    // except across registry instances.
    retries: base.registry ? 2 : 0,
    shareState: false,
    poolMax: 1,
  };
}

/** A failure as `rpc call` reports it: declared exceptions printed, TApplicationExceptions named. */
function explain(err: unknown, call: string, target: string, wire: string, compact = false): unknown {
  if (err instanceof DeclaredException) {
    process.stdout.write(`${JSON.stringify(err.toJSON(), null, compact ? undefined : 2)}\n`);
    return new DeclaredExceptionExit(`${call} threw ${err.exception}, which it declares (printed on stdout)`, { cause: err });
  }
  if (err instanceof thrift.Thrift.TApplicationException) {
    const name = APPLICATION_EXCEPTION_TYPES[err.type] ?? 'UNKNOWN';
    return new ApplicationExceptionError(
      `${call} on ${target} failed on the server: TApplicationException ${name} (${err.type}): ${err.message}`,
      err.type,
      { cause: err },
    );
  }
  const code = (err as { code?: unknown })?.code;
  if (code === 'ERR_CONNECTION_CLOSED' || code === 'ERR_REPLY_DECODE') {
    // The usual cause: the server speaks another protocol or transport, and hangs up or answers garbage.
    (err as Error).message += ` (the call was ${wire}: check --protocol and --transport)`;
  }
  return err;
}

const APPLICATION_EXCEPTION_TYPES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'UNKNOWN_METHOD',
  2: 'INVALID_MESSAGE_TYPE',
  3: 'WRONG_METHOD_NAME',
  4: 'BAD_SEQUENCE_ID',
  5: 'MISSING_RESULT',
  6: 'INTERNAL_ERROR',
  7: 'PROTOCOL_ERROR',
  8: 'INVALID_TRANSFORM',
  9: 'INVALID_PROTOCOL',
  10: 'UNSUPPORTED_CLIENT_TYPE',
  11: 'LOADSHEDDING',
  12: 'TIMEOUT',
};
