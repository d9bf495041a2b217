/**
 * Handler lifecycle, with the real CLI and worker processes: `init(context)` finishes before a
 * worker takes calls, a throwing `init` fails the reload and leaves the old workers serving, the
 * service's `env` reaches its workers, and `close()` runs when the worker drains on stop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';

let host: TestHost | undefined;
afterAll(() => cleanupHost(host));

const handlerSource = `
const fs = require('node:fs');
const path = require('node:path');
const marks = path.join(__dirname, 'marks.log');
exports.init = async (ctx) => {
  if (fs.existsSync(path.join(__dirname, 'fail-init'))) throw new Error('database unreachable');
  await new Promise((r) => setTimeout(r, 300)); // a slow resource: no call may arrive before it is open
  globalThis.pool = { open: true };
  fs.appendFileSync(marks, 'init ' + process.pid + ' ' + ctx.service + ' ' + process.env.GREETING + '\\n');
};
exports.close = async () => {
  await new Promise((r) => setTimeout(r, 100));
  globalThis.pool.open = false;
  fs.appendFileSync(marks, 'close ' + process.pid + '\\n');
};
exports.HelloWorldHandler = {
  sayHello: (name) => process.env.GREETING + ' ' + name + ' pool=' + (globalThis.pool && globalThis.pool.open),
};
`;

it('runs init before serving, keeps old workers when init throws on reload, runs close on stop', { timeout: 40_000 }, async () => {
  host = await makeHost({ count: 1, handlerSource, service: { env: { GREETING: 'Howdy' } } });
  const h = host;
  const marks = path.join(h.dir, 'marks.log');

  const started = await rpc(['start', '-d'], h.dir);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const [worker] = (await statusJson(h)).workers;
  expect(fs.readFileSync(marks, 'utf8')).toBe(`init ${worker!.pid} HelloWorld Howdy\n`);
  expect(await callOnce(h.port, 'TOM')).toBe('Howdy TOM pool=true');

  fs.writeFileSync(path.join(h.dir, 'fail-init'), '');
  const reload = await rpc(['reload'], h.dir);
  expect(reload.code).toBe(6);
  expect(reload.stderr).toContain('database unreachable');
  const after = await statusJson(h);
  expect(after.workers.map((w) => [w.pid, w.state])).toEqual([[worker!.pid, 'listening']]);
  expect(await callOnce(h.port, 'ANN')).toBe('Howdy ANN pool=true');

  fs.rmSync(path.join(h.dir, 'fail-init'));
  const stopped = await rpc(['stop'], h.dir);
  expect(stopped.code).toBe(0);
  expect(fs.readFileSync(marks, 'utf8').trim().split('\n')).toEqual([
    `init ${worker!.pid} HelloWorld Howdy`,
    `close ${worker!.pid}`,
  ]);
});
