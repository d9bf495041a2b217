/**
 * `hugePages`: workers start with glibc's malloc asking for transparent huge pages
 * (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, src/master/worker-env.ts) unless the operator's environment
 * or the service's `env` says otherwise; without it, they start without the variable.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';
import { workerDefaultEnv, WORKER_GLIBC_TUNABLES } from '../src/master/worker-env.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

/** The environment of a running process, as the kernel holds it. */
const environ = (pid: number) =>
  Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const cleanEnv = () => {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  return env;
};

describe('worker environment', () => {
  it('asks for huge pages only with hugePages, and leaves an operator-set GLIBC_TUNABLES alone', () => {
    expect(workerDefaultEnv(true, cleanEnv())).toEqual({ GLIBC_TUNABLES: WORKER_GLIBC_TUNABLES });
    expect(workerDefaultEnv(false, cleanEnv())).toEqual({});
    expect(workerDefaultEnv(true, { ...cleanEnv(), GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toEqual({});
  });

  it('starts real workers with the tunable under hugePages, which a service env overrides', { timeout: 60_000 }, async () => {
    host = await makeHost({ count: 1 });
    expect((await rpc(['start', '-d'], host.dir, 20_000, { GLIBC_TUNABLES: undefined })).code).toBe(0);
    const [plain] = (await statusJson(host)).workers;
    expect(environ(plain!.pid).GLIBC_TUNABLES).toBeUndefined();
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
    await cleanupHost(host);

    host = await makeHost({ count: 1, service: { hugePages: true } });
    expect((await rpc(['start', '-d'], host.dir, 20_000, { GLIBC_TUNABLES: undefined })).code).toBe(0);
    const [worker] = (await statusJson(host)).workers;
    expect(environ(worker!.pid).GLIBC_TUNABLES).toBe(WORKER_GLIBC_TUNABLES);
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
    await cleanupHost(host);

    host = await makeHost({ count: 1, service: { hugePages: true, env: { GLIBC_TUNABLES: '' } } });
    expect((await rpc(['start', '-d'], host.dir, 20_000, { GLIBC_TUNABLES: undefined })).code).toBe(0);
    const [other] = (await statusJson(host)).workers;
    expect(environ(other!.pid).GLIBC_TUNABLES).toBe('');
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });
});
