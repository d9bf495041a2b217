/**
 * `rpc` writes all of its output into a pipe before it exits, also more than the pipe holds
 * (64 KiB on Linux) and also when the reader is slow; a reader that leaves ends `rpc` quietly.
 * `rpc status --json | jq` used to read a JSON cut at 64 KiB: the CLI exited right after its
 * write, dropping what Node still queued for the pipe.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupHost, makeHost, REPO, RPC_BIN, rpc, type StatusJson, type TestHost, waitFor } from './helpers/cli.js';

/** Label values of the handler's metric: each adds about 50 bytes to `rpc status --json`. */
const SERIES = 6000;

/** How long the readers below leave the pipe unread: far longer than `rpc status` takes. */
const UNREAD_MS = 2000;

// One worker whose handler's metric has SERIES label values: its status is some 300 KB of JSON,
// as a host with many listeners makes it.
const handlerSource = `
const { metrics } = require(${JSON.stringify(path.join(REPO, 'dist', 'src', 'monitoring', 'custom-metrics.js'))});
const big = metrics.counter({ name: 'big_total', help: 'Many series.', labelNames: ['key'] });
for (let i = 0; i < ${SERIES}; i++) big.inc({ key: 'a-label-value-of-some-length-' + i });
exports.HelloWorldHandler = { async sayHello(name) { return 'Hello ' + name; } };
`;

/** Runs `rpc ...args` with stdout on a pipe nobody reads until `rpc` exited or `UNREAD_MS` passed. */
async function rpcThroughUnreadPipe(args: string[], cwd: string) {
  const child = spawn(process.execPath, [RPC_BIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, THRIFTHOST_LOG_JSON: '1' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stderr: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  // A fixed CLI cannot exit while the pipe is full, so this waits the whole UNREAD_MS; one that
  // exits after its write is gone by then with its output cut at what the pipe held.
  await Promise.race([exited, new Promise((r) => setTimeout(r, UNREAD_MS))]);
  const stdout: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  const closed = new Promise((resolve) => child.stdout.on('close', resolve));
  const code = await exited;
  await closed;
  return { code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
}

describe('rpc output through a pipe', () => {
  let host: TestHost | undefined;
  beforeAll(async () => {
    host = await makeHost({ count: 1, handlerSource });
    expect((await rpc(['start', '-d'], host.dir)).code).toBe(0);
  }, 30_000);
  afterAll(() => cleanupHost(host));

  it('rpc status --json writes all of 300 KB of JSON to a reader that waits, every time', async () => {
    const h = host!;
    // Three at once: the wait is paid once.
    const runs = await Promise.all([1, 2, 3].map(() => rpcThroughUnreadPipe(['status', '--json'], h.dir)));
    for (const run of runs) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(4 * 65536);
      const status = JSON.parse(run.stdout) as StatusJson & {
        workers: { custom?: { name: string; series: unknown[] }[] }[];
      };
      h.masters.add(status.master.pid);
      for (const w of status.workers) h.pids.add(w.pid);
      const metric = status.workers[0]?.custom?.find((m) => m.name === 'big_total');
      expect(metric?.series).toHaveLength(SERIES);
    }
  });

  it('rpc logs -f ends with exit 0 and no stack trace when its reader leaves', async () => {
    const h = host!;
    const child = spawn(process.execPath, [RPC_BIN, 'logs', '-f', '-n', '1'], {
      cwd: h.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // The last line is printed at once; then the reader goes away, as `head -1` does.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    // Each new line makes `logs -f` write into the pipe nobody reads any more.
    let running = true;
    void exited.then(() => {
      running = false;
    });
    await waitFor(
      () => {
        if (running) fs.appendFileSync(h.log, `${JSON.stringify({ level: 30, time: Date.now(), msg: 'more' })}\n`);
        return !running;
      },
      20_000,
      'rpc logs -f to end',
    );
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});
