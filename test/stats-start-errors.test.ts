/**
 * A statistics/admin listener that cannot start fails `rpc start -d` with a clear message and its
 * own exit code: missing credentials exit 2 before anything is forked, a port in use exits 1 and
 * leaves no worker behind. `stats.admin` is validated with the rest of the config.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAdminAccess } from '../src/monitoring/admin-http.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { ConfigError, validateHostConfig } from '../src/config/config.js';
import { StatsServerError } from '../src/host/host-errors.js';
import { cleanupHost, makeHost, portRefuses, rpc, type TestHost } from './helpers/cli.js';

function withStats(host: TestHost, stats: unknown): void {
  const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
  config.stats = stats;
  fs.writeFileSync(host.config, JSON.stringify(config, null, 2));
}

describe('rpc start with a statistics listener that cannot start', () => {
  let host: TestHost | undefined;
  afterEach(() => cleanupHost(host));

  it('exits 2 naming the keys when admin has no token, before forking anything', async () => {
    host = await makeHost({ count: 1 });
    withStats(host, { listen: '127.0.0.1:0', admin: {} });
    const res = await rpc(['start', '-d'], host.dir, 40_000, { THRIFTHOST_ADMIN_TOKEN: '' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/stats\.admin\.token.*THRIFTHOST_ADMIN_TOKEN.*\[ERR_ADMIN_TOKEN_REQUIRED\]/);
    expect(fs.existsSync(host.pidFile)).toBe(false);
    // No worker was forked: nothing ever logged that it listens.
    expect(fs.readFileSync(host.log, 'utf8')).not.toContain('started:');
  });

  it('exits 2 when bound beyond loopback without credentials', async () => {
    host = await makeHost({ count: 1 });
    withStats(host, { listen: '0.0.0.0:0' });
    const res = await rpc(['start', '-d'], host.dir, 40_000, {
      THRIFTHOST_STATS_USER: '',
      THRIFTHOST_STATS_PASSWORD: '',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('[ERR_STATS_AUTH_REQUIRED]');
  });

  it('exits 1 with the address when the statistics port is taken, and stops its workers', async () => {
    host = await makeHost({ count: 1 });
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      withStats(host, { listen: `127.0.0.1:${taken}` });
      const res = await rpc(['start', '-d'], host.dir);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        `Cannot listen for statistics (HTTP) on 127.0.0.1:${taken}: the port is already in use`,
      );
      expect(res.stderr).toContain('[ERR_STATS_LISTEN]');
    } finally {
      squatter.close();
    }
    expect(await portRefuses(host.port)).toBe(true);
    expect(fs.existsSync(host.pidFile)).toBe(false);
  });

  it('maps every StatsServerError code to its exit code', () => {
    expect(exitCodeFor(new StatsServerError('ERR_STATS_AUTH_REQUIRED', 'x'))).toBe(2);
    expect(exitCodeFor(new StatsServerError('ERR_ADMIN_TOKEN_REQUIRED', 'x'))).toBe(2);
    expect(exitCodeFor(new StatsServerError('ERR_STATS_LISTEN', 'x'))).toBe(1);
  });
});

describe('stats.admin config', () => {
  const file = path.join('/srv/app', 'rpc.config.json');
  const config = (admin: unknown) =>
    validateHostConfig(
      {
        services: [{ name: 'HelloWorld', listen: '127.0.0.1:9090' }],
        stats: { listen: '127.0.0.1:1', admin },
      },
      file,
    );

  it('defaults allowRemote to false and keeps the token', () => {
    expect(config({ token: 'x'.repeat(16) }).stats?.admin).toEqual({
      token: 'x'.repeat(16),
      allowRemote: false,
    });
    expect(config({ allowRemote: true }).stats?.admin).toEqual({ allowRemote: true });
  });

  it.each([
    [{ token: 'short' }, /stats\.admin\.token must be at least 16 characters/],
    [{ allowRemote: 'yes' }, /stats\.admin\.allowRemote must be true or false/],
    [{ Token: 'x'.repeat(16) }, /stats\.admin has unknown key "Token" \(did you mean "token"\?\)/],
    [true, /stats\.admin must be an object/],
  ])('rejects %j', (admin, message) => {
    expect(() => config(admin)).toThrow(ConfigError);
    expect(() => config(admin)).toThrow(message);
  });

  it('takes the token from THRIFTHOST_ADMIN_TOKEN over the config, and needs one', () => {
    const env = { THRIFTHOST_ADMIN_TOKEN: 'e'.repeat(20) };
    expect(resolveAdminAccess({ token: 'c'.repeat(16), allowRemote: false }, env).token).toBe('e'.repeat(20));
    expect(() => resolveAdminAccess({ allowRemote: false }, {})).toThrow(StatsServerError);
    expect(() => resolveAdminAccess({ allowRemote: false }, { THRIFTHOST_ADMIN_TOKEN: 'short' })).toThrow(
      /at least 16 characters/,
    );
  });
});
