/**
 * schema/rpc.config.schema.json is the single source of the keys rpc.config.json accepts: at
 * every level the validator's "allowed" list is the schema's property list, the defaults the
 * schema documents are those of DEFAULTS, and every enum value the schema offers validates.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import schema from '../schema/rpc.config.schema.json';
import { DEFAULTS, validateHostConfig } from '../src/config/config.js';

const FILE = path.join('/srv/app', 'rpc.config.json');
const service = { name: 'HelloWorld', listen: '127.0.0.1:9090' };
const props = schema.properties;
const serviceProps = props.services.items.properties;

/** The "allowed:" list of the error a bogus key gives at `place`. */
function allowedAt(config: Record<string, unknown>): string[] {
  try {
    validateHostConfig(config, FILE);
  } catch (err) {
    const m = /has unknown key "zzz".*; allowed: (.*)$/.exec((err as Error).message);
    if (m) return m[1]!.split(', ').sort();
    throw err;
  }
  throw new Error('the bogus key was accepted');
}

const keys = (o: object) => Object.keys(o).sort();

describe('rpc.config.json schema', () => {
  it('lists exactly the keys the validator accepts, at every level', () => {
    expect(allowedAt({ services: [service], zzz: 1 })).toEqual(keys(props));
    expect(allowedAt({ services: [{ ...service, zzz: 1 }] })).toEqual(keys(serviceProps));
    expect(
      allowedAt({ services: [{ name: 'm', listen: '127.0.0.1:1', multiplex: [{ service: 'A', zzz: 1 }] }] }),
    ).toEqual(keys(serviceProps.multiplex.items.properties));
    expect(allowedAt({ services: [{ ...service, tls: { key: 'k', cert: 'c', zzz: 1 } }] })).toEqual(
      keys(serviceProps.tls.properties),
    );
    expect(allowedAt({ services: [service], stats: { listen: '127.0.0.1:1', zzz: 1 } })).toEqual(
      keys(props.stats.properties),
    );
    expect(allowedAt({ services: [service], stats: { listen: '127.0.0.1:1', admin: { zzz: 1 } } })).toEqual(
      keys(props.stats.properties.admin.properties),
    );
    expect(allowedAt({ services: [service], logRotate: { daily: true, zzz: 1 } })).toEqual(
      keys(props.logRotate.properties),
    );
  });

  it('documents the defaults of DEFAULTS', () => {
    expect({
      pidFile: props.pidFile.default,
      logDir: props.logDir.default,
      logLevel: props.logLevel.default,
      gracefulTimeoutMs: props.gracefulTimeoutMs.default,
      genDir: props.genDir.default,
      protocol: serviceProps.protocol.default,
      transport: serviceProps.transport.default,
      maxMessageBytes: serviceProps.maxMessageBytes.default,
      maxStringBytes: serviceProps.maxStringBytes.default,
      maxContainerElements: serviceProps.maxContainerElements.default,
      maxDepth: serviceProps.maxDepth.default,
      i64: serviceProps.i64.default,
      callContext: serviceProps.callContext.default,
      idleTimeoutMs: serviceProps.idleTimeoutMs.default,
      maxRequests: serviceProps.maxRequests.default,
      maxMemoryMB: serviceProps.maxMemoryMB.default,
      nodeArgs: serviceProps.nodeArgs.default,
      adminAllowRemote: props.stats.properties.admin.properties.allowRemote.default,
      logRotateDaily: props.logRotate.properties.daily.default,
      logRotateMaxBytes: props.logRotate.properties.maxBytes.default,
      logRotateKeep: props.logRotate.properties.keep.default,
    }).toEqual({
      pidFile: DEFAULTS.pidFile,
      logDir: DEFAULTS.logDir,
      logLevel: DEFAULTS.logLevel,
      gracefulTimeoutMs: DEFAULTS.gracefulTimeoutMs,
      genDir: DEFAULTS.genDir,
      protocol: DEFAULTS.protocol,
      transport: DEFAULTS.transport,
      maxMessageBytes: DEFAULTS.limits.maxMessageBytes,
      maxStringBytes: DEFAULTS.limits.maxStringBytes,
      maxContainerElements: DEFAULTS.limits.maxContainerElements,
      maxDepth: DEFAULTS.limits.maxDepth,
      i64: DEFAULTS.i64,
      callContext: DEFAULTS.callContext,
      idleTimeoutMs: DEFAULTS.idleTimeoutMs,
      maxRequests: DEFAULTS.maxRequests,
      maxMemoryMB: DEFAULTS.maxMemoryMB,
      nodeArgs: DEFAULTS.nodeArgs,
      adminAllowRemote: DEFAULTS.adminAllowRemote,
      logRotateDaily: DEFAULTS.logRotateDaily,
      logRotateMaxBytes: DEFAULTS.logRotateMaxBytes,
      logRotateKeep: DEFAULTS.logRotateKeep,
    });
  });

  it('offers only enum values the validator accepts', () => {
    for (const protocol of serviceProps.protocol.enum) {
      expect(() => validateHostConfig({ services: [{ ...service, protocol }] }, FILE)).not.toThrow();
    }
    for (const transport of serviceProps.transport.enum) {
      expect(() => validateHostConfig({ services: [{ ...service, transport }] }, FILE)).not.toThrow();
    }
    for (const logLevel of props.logLevel.enum) {
      expect(() => validateHostConfig({ services: [service], logLevel }, FILE)).not.toThrow();
    }
  });
});
