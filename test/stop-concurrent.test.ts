/**
 * Two `rpc stop` at once: the one that finds a stop under way waits for it and says so, exit 0.
 * It used to fail with exit 7 and "still starting" when it came after the master had closed its
 * control socket but before it removed its pid file: the pid file now says `stopping` from the
 * first instant of a stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { processStartTime } from '../src/master/pid-file.js';
import {
  cleanupHost,
  makeHost,
  portRefuses,
  RPC_BIN,
  rawClient,
  rpc,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';
import { HELD_HANDLER_SOURCE } from './helpers/held-handler.js';

/** `rpc ...args` as a child whose output the test can watch while it runs. */
function runRpc(args: string[], cwd: string) {
  const child: ChildProcess = spawn(process.execPath, [RPC_BIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, THRIFTHOST_LOG_JSON: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { exited, stdout: () => stdout, stderr: () => stderr };
}

let host: TestHost | undefined;
let sleeper: ChildProcess | undefined;
afterEach(() => {
  if (sleeper?.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
  sleeper = undefined;
  cleanupHost(host);
  host = undefined;
});

it('of two rpc stop at once, both exit 0 and the later one says it waited for the stop under way', {
  timeout: 40_000,
}, async () => {
  host = await makeHost({ count: 1, handlerSource: HELD_HANDLER_SOURCE, gracefulTimeoutMs: 10_000 });
  const h = host;
  expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
  const { master, workers } = await statusJson(h);

  // A call held in the handler keeps the stop going until the test lets it go.
  const client = rawClient(h.port);
  const held = client.sayHello('hold', 30_000);
  await waitFor(() => fs.existsSync(path.join(h.dir, 'held')), 10_000, 'the call to reach the handler');

  const stops = [runRpc(['stop'], h.dir), runRpc(['stop'], h.dir)];
  const later = await waitFor(
    () => stops.find((s) => s.stdout().includes('already stopping')),
    20_000,
    'one rpc stop to find the other one under way',
  );
  expect(later.stdout()).toBe(`thrifthost is already stopping (master pid ${master.pid}): waiting for that stop\n`);
  // What a command finds once the master has closed its control socket.
  expect(fs.readFileSync(h.pidFile, 'utf8').split('\n')[2]).toBe('stopping');

  fs.writeFileSync(path.join(h.dir, 'release'), '');
  expect(await held).toBe('Hello hold');
  client.close();
  const codes = await Promise.all(stops.map((s) => s.exited));
  expect(stops.map((s) => s.stderr())).toEqual(['', '']);
  expect(codes).toEqual([0, 0]);
  const first = stops.find((s) => s !== later)!;
  expect(first.stdout()).toBe(`thrifthost stopped (master pid ${master.pid} and ${workers.length} workers)\n`);
  expect(later.stdout()).toMatch(
    new RegExp(`\\nthrifthost stopped \\(master pid ${master.pid} and 1 workers, by the stop already under way\\)\\n$`),
  );
  expect(await portRefuses(h.port)).toBe(true);
  expect(fs.existsSync(h.pidFile)).toBe(false);
});

it('rpc stop waits for a master whose pid file says stopping and whose socket is closed; status says it is stopping', {
  timeout: 30_000,
}, async () => {
  host = await makeHost();
  const h = host;
  // The last moments of a stop, held still: a live process named by a pid file marked
  // `stopping`, and no control socket.
  sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const pid = sleeper.pid!;
  const gone = new Promise((resolve) => sleeper!.once('exit', resolve));
  fs.mkdirSync(path.dirname(h.pidFile), { recursive: true });
  fs.writeFileSync(h.pidFile, `${pid}\n${processStartTime(pid) ?? ''}\nstopping\n`);

  const status = await rpc(['status'], h.dir);
  expect(status.stderr).toContain(`thrifthost is stopping (pid ${pid}, pid file ${h.pidFile})`);
  expect(status.stderr).toContain('[ERR_STOPPING]');
  expect(status.code).toBe(10);

  const stop = runRpc(['stop'], h.dir);
  await waitFor(() => stop.stdout().includes('already stopping'), 20_000, 'rpc stop to find the stop under way');
  // The stop under way ends: the master exits and its pid file goes.
  sleeper.kill('SIGTERM');
  await gone;
  fs.rmSync(h.pidFile);
  expect(await stop.exited).toBe(0);
  expect(stop.stderr()).toBe('');
  expect(stop.stdout()).toBe(
    `thrifthost is already stopping (master pid ${pid}): waiting for that stop\n` +
      `thrifthost stopped (master pid ${pid}, by the stop already under way)\n`,
  );
});
