/**
 * schema/rpc.config.schema.json is the single source of the keys rpc.config.json accepts: at
 * every level the validator's "allowed" list is the schema's property list, the defaults the
 * schema documents are those of DEFAULTS, every enum value the schema offers validates, and
 * every bound it states is where the validator stops (walked from the schema document).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import schema from '../schema/rpc.config.schema.json';
import { DECODE_LIMIT_RANGES, DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { DEFAULT_REGISTRY_PREFIX } from '../src/common/registry-record.js';
import { ADMIN_TOKEN_MIN_CHARS, DEFAULTS, validateHostConfig } from '../src/config/config.js';
import { SCHEMA_KEYWORDS, type SchemaNode } from '../src/config/schema-validator.js';

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
    const registry = { endpoints: ['http://127.0.0.1:2379'] };
    expect(allowedAt({ services: [service], registry: { ...registry, zzz: 1 } })).toEqual(keys(props.registry.properties));
    expect(allowedAt({ services: [service], registry: { ...registry, tls: { zzz: 1 } } })).toEqual(
      keys(props.registry.properties.tls.properties),
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
      semiSpaceMiB: serviceProps.semiSpaceMiB.default,
      maglev: serviceProps.maglev.default,
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
      semiSpaceMiB: DEFAULTS.semiSpaceMiB,
      maglev: DEFAULTS.maglev,
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

/** Every node of the schema with the path to it: property names, and `[]` for array items. */
function* nodes(node: SchemaNode, at: string[] = []): Generator<[string[], SchemaNode]> {
  yield [at, node];
  for (const [key, child] of Object.entries(node.properties ?? {})) yield* nodes(child, [...at, key]);
  if (node.items) yield* nodes(node.items, [...at, '[]']);
  if (typeof node.additionalProperties === 'object') yield* nodes(node.additionalProperties, [...at, '*']);
  if (node.propertyNames) yield* nodes(node.propertyNames, [...at, '(name)']);
}

/**
 * The smallest valid object at each object path of the schema; a bound under a path missing
 * here fails the walk below, naming the path, so a new block cannot go unchecked.
 */
const SKELETON: Record<string, Record<string, unknown>> = {
  '': { services: [service] },
  'services[]': service,
  'services[].multiplex[]': { service: 'A' },
  'services[].tls': { key: 'k.pem', cert: 'c.pem' },
  stats: { listen: '127.0.0.1:9091' },
  'stats.admin': {},
  logRotate: { daily: true },
  registry: { endpoints: ['http://127.0.0.1:2379'] },
  'registry.tls': {},
};

/** A valid config but for `value` at `at` (`[]` = the first element). */
function configWith(at: string[], value: unknown): unknown {
  const build = (i: number, prefix: string): unknown => {
    if (i === at.length) return value;
    const segment = at[i]!;
    if (segment === '[]') return [build(i + 1, `${prefix}[]`)];
    const skeleton = SKELETON[prefix];
    if (!skeleton) throw new Error(`no SKELETON for "${prefix}": add the smallest valid object there`);
    return { ...skeleton, [segment]: build(i + 1, prefix === '' ? segment : `${prefix}.${segment}`) };
  };
  return build(0, '');
}

const fieldOf = (at: string[]) => at.join('.').replace(/\.\[\]/g, '[0]');
const refusal = (at: string[]) => `${FILE}: ${fieldOf(at)} `;

describe('every bound of the schema is the validator\'s', () => {
  const all = [...nodes(schema as SchemaNode)];
  const bounded = all.filter(([, n]) => n.minimum !== undefined || n.maximum !== undefined);
  const enums = all.filter(([, n]) => n.enum !== undefined);

  it('finds the bounds and enums to check', () => {
    expect(bounded.map(([at]) => fieldOf(at))).toEqual(
      expect.arrayContaining(['services[0].count', 'services[0].maxQueueMs', 'registry.ttlSeconds', 'registry.weight']),
    );
    expect(bounded.length).toBeGreaterThanOrEqual(19);
    expect(enums.map(([at]) => fieldOf(at)).sort()).toEqual(
      ['logLevel', 'services[0].i64', 'services[0].protocol', 'services[0].transport'],
    );
  });

  it.each(bounded.map(([at, n]) => [fieldOf(at), at, n] as const))(
    '%s: accepts each of its bounds and refuses one past it, naming the field',
    (_, at, node) => {
      const step = node.type === 'integer' ? 1 : 0.001;
      for (const [bound, past] of [
        [node.minimum, (node.minimum ?? 0) - step],
        [node.maximum, (node.maximum ?? 0) + step],
      ] as const) {
        if (bound === undefined) continue;
        expect(() => validateHostConfig(configWith(at, bound), FILE)).not.toThrow();
        const refused = () => validateHostConfig(configWith(at, past), FILE);
        expect(refused).toThrow(refusal(at));
        expect(refused).toThrow(new RegExp(`\\b${bound}\\b.*, got ${past}$`));
      }
    },
  );

  it.each(enums.map(([at, n]) => [fieldOf(at), at, n] as const))(
    '%s: accepts every value of its enum and refuses another naming the field and the values',
    (_, at, node) => {
      for (const value of node.enum!) {
        expect(() => validateHostConfig(configWith(at, value), FILE)).not.toThrow();
      }
      const refused = () => validateHostConfig(configWith(at, 'zzz'), FILE);
      expect(refused).toThrow(`${refusal(at)}"zzz" is not one of ${node.enum!.join(', ')}`);
    },
  );

  it('uses only keywords the validator checks (or annotations it may ignore)', () => {
    const annotations = ['$schema', '$id', 'title', 'description', 'default'];
    for (const [at, node] of all) {
      for (const key of Object.keys(node)) {
        expect([...SCHEMA_KEYWORDS, ...annotations], `${fieldOf(at) || '(top level)'}: ${key}`).toContain(key);
      }
    }
  });

  it('agrees with the constants the client shares: decode limits, registry prefix, admin token length', () => {
    for (const [key, [min, max]] of Object.entries(DECODE_LIMIT_RANGES)) {
      const node = serviceProps[key as keyof typeof DECODE_LIMIT_RANGES];
      expect([key, node.minimum, node.maximum]).toEqual([key, min, max]);
      expect(node.default).toBe(DEFAULT_DECODE_LIMITS[key as keyof typeof DECODE_LIMIT_RANGES]);
    }
    expect(props.registry.properties.prefix.default).toBe(DEFAULT_REGISTRY_PREFIX);
    expect(ADMIN_TOKEN_MIN_CHARS).toBe(16);
  });
});
