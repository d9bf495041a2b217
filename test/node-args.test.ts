/**
 * `nodeArgs`: Node.js flags for a service's workers reach the worker processes (and survive a
 * reload); anything that is not a list of `--flags` is a config error naming the field.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('nodeArgs', () => {
  it('starts workers with the configured Node.js flags, also after a reload', { timeout: 40_000 }, async () => {
    host = await makeHost({ count: 1, service: { nodeArgs: ['--max-semi-space-size=1'] } });
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
    const [first] = (await statusJson(host)).workers;
    expect(cmdline(first!.pid)).toContain('--max-semi-space-size=1');
    expect(await callOnce(host.port, 'TOM')).toBe('v1 Hello TOM');

    expect((await rpc(['reload'], host.dir)).code).toBe(0);
    const [second] = (await statusJson(host)).workers;
    expect(second!.pid).not.toBe(first!.pid);
    expect(cmdline(second!.pid)).toContain('--max-semi-space-size=1');
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('rejects flags that are not --options, naming the field', async () => {
    host = await makeHost({ service: { nodeArgs: ['inspect'] } });
    const result = await rpc(['start', '-d'], host.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('services[0].nodeArgs must be an array of Node.js flags');
  });
});
