/**
 * Host configuration: defaults resolved in one place, relative paths against the config file,
 * and every mistake reported as one message naming the file and the field, with exit code 2
 * from the CLI (checked through the real `rpc` binary).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import schema from '../schema/rpc.config.schema.json';
import { ConfigError, DEFAULTS, loadHostConfig, validateHostConfig } from '../src/config/config.js';
import { closestMatch, editDistance } from '../src/config/did-you-mean.js';
import { REPO, rpc } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thcfg-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const GEN = path.join(REPO, 'gen');
const HANDLER = path.join(REPO, 'services', 'HelloWorld', 'handler.js');

const hello = (extra: Record<string, unknown> = {}) => ({
  name: 'HelloWorld',
  listen: 'tcp://127.0.0.1:9999',
  handler: HANDLER,
  ...extra,
});

/** Writes `content` as a config file and runs `rpc start -d -c <it>`. */
async function startWith(name: string, content: unknown) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { file, ...(await rpc(['start', '-d', '-c', file], dir)) };
}

describe('validateHostConfig', () => {
  it('fills every default and resolves paths against the config folder', () => {
    const file = '/srv/app/rpc.config.json';
    const config = validateHostConfig(
      { services: [{ service: 'HelloWorld', listen: '0.0.0.0:9090' }] },
      file,
    );
    expect(config.pidFile).toBe('/srv/app/.rpc/rpc.pid');
    expect(config.logDir).toBe('/srv/app/logs');
    expect(config.gracefulTimeoutMs).toBe(DEFAULTS.gracefulTimeoutMs);
    const [s] = config.services;
    expect(s).toMatchObject({
      name: 'HelloWorld',
      count: DEFAULTS.count(),
      protocol: 'binary',
      transport: 'buffered',
      genDir: '/srv/app/gen',
      limits: DEFAULTS.limits,
      i64: 'int64',
      idleTimeoutMs: DEFAULTS.idleTimeoutMs,
      maxRequests: 0,
      maxMemoryMB: 0,
      listen: { host: '0.0.0.0', port: 9090 },
    });
    expect(s?.bindings).toEqual([
      { service: 'HelloWorld', handler: '/srv/app/services/HelloWorld/handler.ts' },
    ]);
  });

  it('accepts listeners that can all be bound', () => {
    const config = validateHostConfig(
      {
        services: [hello(), hello({ name: 'B', listen: '127.0.0.2:9999' }), hello({ name: 'C', listen: '127.0.0.1:0' })],
        stats: { listen: '127.0.0.1:0', udp: '127.0.0.1:9999' },
      },
      '/x/rpc.config.json',
    );
    expect(config.services).toHaveLength(3);
    expect(config.stats?.udp).toEqual({ host: '127.0.0.1', port: 9999 });
  });

  it('accepts protocol and transport aliases', () => {
    const config = validateHostConfig(
      { services: [hello({ protocol: 'TCompactProtocol', transport: 'TFramedTransport' })] },
      '/x/rpc.config.json',
    );
    expect(config.services[0]).toMatchObject({ protocol: 'compact', transport: 'framed' });
  });

  it.each([
    [{ services: [] }, 'services must be a non-empty array'],
    [{ services: [hello({ count: 0 })] }, 'services[0].count must be an integer from 1 to 1024, got 0'],
    [
      { services: [hello({ protocol: 'xml' })] },
      'services[0].protocol "xml" is not one of binary, compact, json',
    ],
    [{ services: [hello()], logLevel: 'loud' }, 'logLevel "loud" is not one of'],
    [{ services: [hello(), hello()] }, 'services[1].name "HelloWorld" is used twice'],
    [
      { services: [hello(), hello({ name: 'B' })] },
      'services[1].listen 127.0.0.1:9999 is already used by services[0].listen',
    ],
    [
      { services: [hello({ listen: 'tcp://0.0.0.0:9999' }), hello({ name: 'B', listen: '127.0.0.1:9999' })] },
      'services[1].listen 0.0.0.0:9999 is already used by services[0].listen',
    ],
    [
      { services: [hello()], stats: { listen: '127.0.0.1:9999' } },
      'stats.listen 127.0.0.1:9999 is already used by services[0].listen',
    ],
    [
      { services: [hello()], pidFile: `/tmp/${'p'.repeat(100)}` },
      `pidFile /tmp/${'p'.repeat(100)} is too long: its control socket`,
    ],
  ])('rejects %j', (raw, message) => {
    expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(ConfigError);
    expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(message);
  });
});

describe('millisecond settings', () => {
  // Where each one goes in the file; a new *Ms default missing here fails the first test.
  const PLACES: Record<string, (ms: number) => unknown> = {
    gracefulTimeoutMs: (ms) => ({ services: [hello()], gracefulTimeoutMs: ms }),
    idleTimeoutMs: (ms) => ({ services: [hello({ idleTimeoutMs: ms })] }),
    registryDeregisterDelayMs: (ms) => ({
      services: [hello()],
      registry: { endpoints: ['http://127.0.0.1:2379'], deregisterDelayMs: ms },
    }),
    registryRequestTimeoutMs: (ms) => ({
      services: [hello()],
      registry: { endpoints: ['http://127.0.0.1:2379'], requestTimeoutMs: ms },
    }),
    maxQueueMs: (ms) => ({ services: [hello({ maxQueueMs: ms })] }),
    maxEventLoopDelayMs: (ms) => ({ services: [hello({ maxEventLoopDelayMs: ms })] }),
  };
  const FIELD: Record<string, string> = {
    gracefulTimeoutMs: 'gracefulTimeoutMs',
    idleTimeoutMs: 'services[0].idleTimeoutMs',
    registryDeregisterDelayMs: 'registry.deregisterDelayMs',
    registryRequestTimeoutMs: 'registry.requestTimeoutMs',
    maxQueueMs: 'services[0].maxQueueMs',
    maxEventLoopDelayMs: 'services[0].maxEventLoopDelayMs',
  };
  // The admission-control waits stop well below a timer's range; the others at its end.
  const MAXIMUM: Record<string, number> = {
    maxQueueMs: schema.properties.services.items.properties.maxQueueMs.maximum,
    maxEventLoopDelayMs: schema.properties.services.items.properties.maxEventLoopDelayMs.maximum,
  };

  it('every *Ms default is checked here', () => {
    expect(Object.keys(PLACES).sort()).toEqual(Object.keys(DEFAULTS).filter((k) => k.endsWith('Ms')).sort());
  });

  it.each(Object.keys(PLACES))('%s beyond a Node.js timer (2^31 - 1 ms) is refused naming the field', (key) => {
    const place = PLACES[key]!;
    const field = FIELD[key]!.replace(/[[\].]/g, '\\$&');
    const maximum = MAXIMUM[key] ?? 2 ** 31 - 1;
    expect(maximum).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(() => validateHostConfig(place(maximum), '/x/rpc.config.json')).not.toThrow();
    expect(() => validateHostConfig(place(3_000_000_000), '/x/rpc.config.json')).toThrow(
      new RegExp(
        maximum === 2 ** 31 - 1
          ? `${field} must be an integer from \\d+ to 2147483647 \\(milliseconds; a Node.js timer cannot wait longer`
          : `${field} must be an integer from \\d+ to ${maximum}, got 3000000000`,
      ),
    );
  });
});

describe('did you mean', () => {
  it.each([
    [{ services: [hello({ cuont: 2 })] }, 'services[0] has unknown key "cuont" (did you mean "count"?)'],
    [{ services: [hello({ listn: '127.0.0.1:1' })] }, 'services[0] has unknown key "listn" (did you mean "listen"?)'],
    [{ services: [hello({ protocl: 'binary' })] }, 'services[0] has unknown key "protocl" (did you mean "protocol"?)'],
    [{ services: [hello()], logLevl: 'info' }, '(top level) has unknown key "logLevl" (did you mean "logLevel"?)'],
    [
      { services: [hello()], gracefulTimeout: 5000 },
      '(top level) has unknown key "gracefulTimeout" (did you mean "gracefulTimeoutMs"?)',
    ],
    [{ services: [hello({ Count: 2 })] }, 'services[0] has unknown key "Count" (did you mean "count"?)'],
    [
      { services: [hello()], registry: { endpoints: ['http://127.0.0.1:2379'], ttl: 5 } },
      'registry has unknown key "ttl" (did you mean "ttlSeconds"?)',
    ],
  ])('an unknown key near an allowed one gets it suggested: %j', (raw, message) => {
    expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(message);
  });

  it.each([
    [{ services: [hello({ protocol: 'binar' })] }, 'services[0].protocol "binar" is not one of', 'binary'],
    [{ services: [hello({ protocol: 'Compact' })] }, 'services[0].protocol "Compact" is not one of', 'compact'],
    [{ services: [hello({ transport: 'framd' })] }, 'services[0].transport "framd" is not one of', 'framed'],
    [{ services: [hello({ i64: 'bigInt' })] }, 'services[0].i64 "bigInt" is not one of', 'bigint'],
    [{ services: [hello()], logLevel: 'warning' }, 'logLevel "warning" is not one of', 'warn'],
  ])('an enum value near an allowed one gets it suggested: %j', (raw, message, near) => {
    expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(message);
    expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(`(did you mean "${near}"?)`);
  });

  it('suggests nothing for a word that is not near any allowed one', () => {
    for (const raw of [
      { services: [hello({ zzz: 1 })] },
      { services: [hello()], verbose: true },
      { services: [hello({ protocol: 'xml' })] },
    ]) {
      expect(() => validateHostConfig(raw, '/x/rpc.config.json')).toThrow(ConfigError);
      expect(() => validateHostConfig(raw, '/x/rpc.config.json')).not.toThrow('did you mean');
    }
  });

  it('counts a swap of two neighbouring letters as one edit, and ignores case', () => {
    expect(editDistance('cuont', 'count')).toBe(1);
    expect(editDistance('listn', 'listen')).toBe(1);
    expect(editDistance('gracefultimeout', 'gracefultimeoutms')).toBe(2);
    expect(closestMatch('PIDFILE', ['pidFile', 'logDir'])).toBe('pidFile');
    expect(closestMatch('tls', ['env', 'user'])).toBeUndefined();
  });
});

describe('config errors through the CLI', () => {
  it.each([
    [
      'typo.json',
      { genDir: GEN, services: [hello({ Count: 2 })] },
      'services[0] has unknown key "Count" (did you mean "count"?)',
    ],
    [
      'top.json',
      { genDir: GEN, services: [hello()], pidfile: 'x' },
      '(top level) has unknown key "pidfile" (did you mean "pidFile"?)',
    ],
    [
      'port.json',
      { genDir: GEN, services: [hello({ listen: 'tcp://0.0.0.0:70000' })] },
      'services[0].listen port 70000',
    ],
    [
      'addr.json',
      { genDir: GEN, services: [hello({ listen: 'localhost' })] },
      'services[0].listen "localhost" is not host:port',
    ],
    [
      'handler.json',
      { genDir: GEN, services: [hello({ handler: './nope/handler.js' })] },
      `services[0].handler handler module ${path.join(dir, 'nope/handler.js')} does not exist`,
    ],
    [
      'gen.json',
      { genDir: path.join(dir, 'nogen'), services: [hello()] },
      'services[0].service cannot be served: No generated code for service HelloWorld',
    ],
    [
      'svc.json',
      { genDir: GEN, services: [hello({ service: 'Nope' })] },
      'No generated code for service Nope',
    ],
    ['json.json', '{"services": [', 'not valid JSON'],
    [
      'timer.json',
      { genDir: GEN, services: [hello()], gracefulTimeoutMs: 3_000_000_000 },
      'gracefulTimeoutMs must be an integer from 0 to 2147483647',
    ],
  ])('%s exits 2 naming the file and the field', async (name, content, message) => {
    const res = await startWith(name, content);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(res.file);
    expect(res.stderr).toContain(message);
    expect(res.stderr).toContain('[ERR_CONFIG_INVALID]');
    expect(res.stdout).toBe('');
  });

  it('a pidFile too long for its control socket exits 2 and creates no folder', async () => {
    const folder = path.join(dir, 'f'.repeat(90));
    const res = await startWith('longpid.json', {
      genDir: GEN,
      services: [hello()],
      pidFile: path.join(folder, 'rpc.pid'),
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`pidFile ${path.join(folder, 'rpc.pid')} is too long`);
    expect(fs.existsSync(folder)).toBe(false);
  });

  it('a missing config file exits 2 and says how to point at one', async () => {
    const res = await rpc(['status', '-c', path.join(dir, 'missing.json')], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Cannot read config file');
    expect(res.stderr).toContain('pass --config PATH');
  });

  it('loadHostConfig checks files only when asked', () => {
    const file = path.join(dir, 'nocheck.json');
    fs.writeFileSync(file, JSON.stringify({ genDir: GEN, services: [hello({ handler: './missing.js' })] }));
    expect(loadHostConfig(file, { checkFiles: false }).services[0]?.bindings[0]?.handler).toBe(
      path.join(dir, 'missing.js'),
    );
    expect(() => loadHostConfig(file)).toThrow('does not exist');
  });
});
