/**
 * One `services[i]` entry, already checked against the schema, turned into a
 * {@link ServiceConfig}: its bindings (one service, or several when multiplexed) with their
 * handler files, paths resolved against the config file's folder, defaults applied, and the
 * rules between its fields that the schema cannot state.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type HostPort, parseAddress } from '../common/address.js';
import type { DecodeLimits, I64Mode } from '../codec/decode-limits.js';
import { generatedFileCandidates, generatedI64Mode } from '../codec/generated-service.js';
import { parseProtocolName, parseTransportName } from '../codec/protocols.js';
import { findHandlerFile } from '../worker/handler-module.js';
import { DEFAULTS } from './config-defaults.js';
import type { Fail } from './config-error.js';
import { SERVICE_SCHEMA } from './config-schema.js';
import type { ServiceBinding, ServiceConfig, TlsConfig } from './config-types.js';
import { optional } from './optional-field.js';
import type { Checked } from './schema-validator.js';

/** Where an entry's relative paths resolve, and how it reports a mistake. */
export interface EntryContext {
  /** The config file's folder. */
  baseDir: string;
  /** Absolute top-level `genDir`, the entry's default. */
  genDir: string;
  fail: Fail;
}

/**
 * Resolves one schema-checked service entry.
 * @param at the entry's field path, `services[i]`
 * @throws ConfigError (through `ctx.fail`) naming the field
 */
export function resolveServiceEntry(o: Checked, at: string, ctx: EntryContext): ServiceConfig {
  const { baseDir, fail } = ctx;
  const bindings = serviceBindings(o, at, ctx);
  const name = (o.name as string | undefined) ?? bindings.map((b) => b.service).join('+');
  if (o.name === undefined && !NAME.test(name)) {
    fail(`${at}.name`, `is required here: the default "${name}" ${SERVICE_SCHEMA.properties.name.patternErrorMessage}`);
  }
  const listen = parseAddress(o.listen as string);
  if (typeof listen === 'string') fail(`${at}.listen`, listen);
  const protocolText = (o.protocol as string | undefined) ?? DEFAULTS.protocol;
  const protocol = parseProtocolName(protocolText) ?? fail(`${at}.protocol`, `"${protocolText}" is in the schema but unknown to codec/protocols.ts`);
  const transportText = (o.transport as string | undefined) ?? DEFAULTS.transport;
  const transport = parseTransportName(transportText) ?? fail(`${at}.transport`, `"${transportText}" is in the schema but unknown to codec/protocols.ts`);
  if (transport === 'header' && protocol === 'json') {
    fail(`${at}.protocol`, 'THeader carries binary or compact messages (the caller picks per message); use one of those');
  }
  const int = (key: string, fallback: number): number => (o[key] as number | undefined) ?? fallback;
  return {
    name,
    bindings,
    multiplexed: o.multiplex !== undefined,
    listen: listen as HostPort,
    count: (o.count as number | undefined) ?? DEFAULTS.count(),
    protocol,
    transport,
    genDir: o.genDir === undefined ? ctx.genDir : path.resolve(baseDir, o.genDir as string),
    limits: decodeLimits(o, at, fail),
    // Unset: what `rpc gen` generated the code with (checkServiceFiles refuses a mismatch).
    i64: (o.i64 as I64Mode | undefined) ?? generatedI64(bindings, o.genDir === undefined ? ctx.genDir : path.resolve(baseDir, o.genDir as string)) ?? DEFAULTS.i64,
    interceptors: interceptorPaths(o.interceptors as string[] | undefined, `${at}.interceptors`, baseDir, fail),
    callContext: (o.callContext as boolean | undefined) ?? DEFAULTS.callContext,
    env: { ...(o.env as Record<string, string> | undefined) },
    idleTimeoutMs: int('idleTimeoutMs', DEFAULTS.idleTimeoutMs),
    maxRequests: int('maxRequests', DEFAULTS.maxRequests),
    maxMemoryMB: int('maxMemoryMB', DEFAULTS.maxMemoryMB),
    maxQueueMs: int('maxQueueMs', DEFAULTS.maxQueueMs),
    maxConcurrentCalls: int('maxConcurrentCalls', DEFAULTS.maxConcurrentCalls),
    maxEventLoopDelayMs: int('maxEventLoopDelayMs', DEFAULTS.maxEventLoopDelayMs),
    nodeArgs: [...((o.nodeArgs as string[] | undefined) ?? DEFAULTS.nodeArgs)],
    hugePages: (o.hugePages as boolean | undefined) ?? DEFAULTS.hugePages,
    semiSpaceMiB: int('semiSpaceMiB', DEFAULTS.semiSpaceMiB),
    maglev: (o.maglev as boolean | undefined) ?? DEFAULTS.maglev,
    ...optional('user', o.user as string | undefined),
    ...optional('group', o.group as string | undefined),
    ...optional('tls', o.tls === undefined ? undefined : tlsFiles(o.tls as Checked, baseDir)),
  };
}

// --- internal ---

const NAME = new RegExp(SERVICE_SCHEMA.properties.name.pattern, 'u');
const SERVICE_NAME = new RegExp(SERVICE_SCHEMA.properties.service.pattern, 'u');

/** The i64 representation of the first binding's generated code that says (read from its header). */
function generatedI64(bindings: readonly ServiceBinding[], genDir: string): I64Mode | undefined {
  for (const b of bindings) {
    const file = generatedFileCandidates(genDir, b.service).find((f) => fs.existsSync(f));
    const mode = file && generatedI64Mode(file);
    if (mode) return mode;
  }
  return undefined;
}

function serviceBindings(o: Checked, at: string, { baseDir, fail }: EntryContext): ServiceBinding[] {
  if (o.multiplex !== undefined) {
    if (o.service !== undefined || o.handler !== undefined) {
      fail(at, 'has both "multiplex" and "service"/"handler"; use one or the other');
    }
    return (o.multiplex as Checked[]).map((m) => binding(m.service as string, m.handler as string | undefined, baseDir));
  }
  if (o.service === undefined) {
    if (o.name === undefined) fail(`${at}.service`, 'is required (the IDL service name)');
    // The name stands for the service: it must be one.
    if (!SERVICE_NAME.test(o.name as string)) {
      fail(
        `${at}.service`,
        `is required: the name "${o.name as string}" cannot stand for it, as it ${SERVICE_SCHEMA.properties.service.patternErrorMessage}`,
      );
    }
  }
  return [binding((o.service ?? o.name) as string, o.handler as string | undefined, baseDir)];
}

function binding(service: string, handler: string | undefined, baseDir: string): ServiceBinding {
  return {
    service,
    handler:
      handler === undefined
        ? findHandlerFile(path.resolve(baseDir, DEFAULTS.handler(service)))
        : path.resolve(baseDir, handler),
  };
}

/** The decode limits of a service entry; `maxFrameBytes` is accepted as `maxMessageBytes`. */
function decodeLimits(o: Checked, at: string, fail: Fail): DecodeLimits {
  if (o.maxFrameBytes !== undefined && o.maxMessageBytes !== undefined) {
    fail(`${at}.maxFrameBytes`, 'is the old name of maxMessageBytes; set only one of them');
  }
  const limits = { ...DEFAULTS.limits };
  for (const key of Object.keys(limits) as (keyof DecodeLimits)[]) {
    const rawKey = key === 'maxMessageBytes' && o.maxMessageBytes === undefined ? 'maxFrameBytes' : key;
    const value = o[rawKey] as number | undefined;
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

function interceptorPaths(files: string[] | undefined, at: string, baseDir: string, fail: Fail): string[] {
  return (files ?? []).map((p, i) => {
    const file = path.resolve(baseDir, p);
    if (!fs.existsSync(file)) fail(`${at}[${i}]`, `module ${file} does not exist`);
    return file;
  });
}

function tlsFiles(t: Checked, baseDir: string): TlsConfig {
  return {
    key: path.resolve(baseDir, t.key as string),
    cert: path.resolve(baseDir, t.cert as string),
    ...optional('ca', t.ca === undefined ? undefined : path.resolve(baseDir, t.ca as string)),
  };
}
