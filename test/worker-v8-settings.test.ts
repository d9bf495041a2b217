/**
 * `semiSpaceMiB` and `maglev`: a service's workers start with `--max-semi-space-size=<MiB>` and
 * V8's Maglev by default, with V8's own sizing and `--no-maglev` when the settings say so, and with the service's
 * `nodeArgs` after them (so a flag there wins); values out of bounds are refused at start,
 * naming the field.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import schema from '../schema/rpc.config.schema.json';
import { DEFAULTS } from '../src/config/config.js';
import { workerNodeFlags } from '../src/master/worker-flags.js';
import { callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const semiSpace = schema.properties.services.items.properties.semiSpaceMiB;

/** The command lines of a started host's workers. */
async function workerCmdlines(h: TestHost): Promise<string[][]> {
  return (await statusJson(h)).workers.map((w) => cmdline(w.pid));
}

describe('worker V8 settings', () => {
  it('starts workers with a small semi-space and with Maglev by default', { timeout: 40_000 }, async () => {
    host = await makeHost({ count: 2 });
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
    const lines = await workerCmdlines(host);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toContain(`--max-semi-space-size=${DEFAULTS.semiSpaceMiB}`);
      expect(line.some((a) => a.includes('maglev'))).toBe(false);
    }
    expect(await callOnce(host.port, 'TOM')).toBe('v1 Hello TOM');
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('leaves V8 its own sizing with semiSpaceMiB 0 and turns Maglev off with maglev false', { timeout: 40_000 }, async () => {
    host = await makeHost({ count: 1, service: { semiSpaceMiB: 0, maglev: false } });
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
    const [line] = await workerCmdlines(host);
    expect(line!.filter((a) => a.startsWith('--max-semi-space-size') || a.includes('maglev'))).toEqual(['--no-maglev']);
    expect(await callOnce(host.port, 'TOM')).toBe('v1 Hello TOM');
    expect((await rpc(['stop'], host.dir)).code).toBe(0);
  });

  it('puts nodeArgs after the settings, so that a flag given there wins', () => {
    expect(workerNodeFlags({ semiSpaceMiB: 8, maglev: false, nodeArgs: ['--max-semi-space-size=1'] })).toEqual([
      '--max-semi-space-size=8',
      '--no-maglev',
      '--max-semi-space-size=1',
    ]);
    expect(workerNodeFlags({})).toEqual([`--max-semi-space-size=${DEFAULTS.semiSpaceMiB}`]);
  });

  it.each([
    ['semiSpaceMiB', semiSpace.maximum + 1, `must be an integer from 0 to ${semiSpace.maximum}, got 65`],
    ['semiSpaceMiB', -1, 'must be an integer from 0 to 64, got -1'],
    ['semiSpaceMiB', 1.5, 'must be an integer from 0 to 64, got 1.5'],
    ['maglev', 'yes', 'must be true or false, got "yes"'],
  ])('refuses %s %j at start, naming the field', async (key, value, why) => {
    host = await makeHost({ service: { [key]: value } });
    const result = await rpc(['start', '-d'], host.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`services[0].${key} ${why}`);
  });
});
