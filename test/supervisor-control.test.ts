/**
 * The control channel between `rpc` and the master, in-process on a real unix socket: requests
 * and answers, errors carrying the master's code, bounded reads, unreachable sockets.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ThriftHostError } from '../src/common/errors.js';
import { type ControlServer, controlRequest, listenControl, MAX_REQUEST_BYTES } from '../src/master/control.js';
import { ReloadError } from '../src/host/host-errors.js';

let dir: string;
let server: ControlServer | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thc-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const handlers = {
  status: async () => ({ workers: [1, 2] }),
  reload: async () => {
    throw new ReloadError('Reload of HelloWorld stopped after 0 of 2 workers: boom');
  },
  stop: async () => ({ pids: [1] }),
};

/** Sends raw bytes and returns everything the server wrote before closing. */
function raw(socketPath: string, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(bytes));
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

describe('control socket', () => {
  it('answers a command with its result', async () => {
    const sock = path.join(dir, 'rpc.pid.sock');
    server = await listenControl(sock, handlers);
    expect(await controlRequest(sock, 'status')).toEqual({ workers: [1, 2] });
  });

  it("passes the master's error code and message to the CLI", async () => {
    const sock = path.join(dir, 'rpc.pid.sock');
    server = await listenControl(sock, handlers);
    const err = await controlRequest(sock, 'reload').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThriftHostError);
    expect((err as ThriftHostError).code).toBe('ERR_RELOAD_FAILED');
    expect((err as Error).message).toContain('stopped after 0 of 2 workers: boom');
  });

  it('rejects garbage, unknown commands and oversized requests without calling a handler', async () => {
    const sock = path.join(dir, 'rpc.pid.sock');
    let called = 0;
    server = await listenControl(sock, {
      status: async () => called++,
      reload: async () => called++,
      stop: async () => called++,
    });
    expect(JSON.parse(await raw(sock, 'not json\n'))).toMatchObject({
      ok: false,
      error: { code: 'ERR_CONTROL' },
    });
    expect(JSON.parse(await raw(sock, '{"cmd":"rm -rf"}\n')).error.message).toContain('unknown command');
    const big = await raw(sock, Buffer.alloc(MAX_REQUEST_BYTES + 10, 'a'));
    expect(JSON.parse(big).error.message).toContain(`exceeds ${MAX_REQUEST_BYTES} bytes`);
    expect(called).toBe(0);
  });

  it('replaces a stale socket file, and removes its file on close', async () => {
    const sock = path.join(dir, 'rpc.pid.sock');
    fs.writeFileSync(sock, 'stale');
    server = await listenControl(sock, handlers);
    expect(await controlRequest(sock, 'stop')).toEqual({ pids: [1] });
    await server.close();
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('refuses to take over a socket a live master answers on, and removes only its own file', async () => {
    const sock = path.join(dir, 'rpc.pid.sock');
    server = await listenControl(sock, handlers);
    await expect(listenControl(sock, handlers)).rejects.toMatchObject({ code: 'ERR_ALREADY_RUNNING' });
    expect(await controlRequest(sock, 'stop')).toEqual({ pids: [1] });
    // Another master's socket file at the same path (this one's was removed by hand).
    fs.unlinkSync(sock);
    const other = await listenControl(sock, handlers);
    try {
      await server.close();
      expect(await controlRequest(sock, 'stop')).toEqual({ pids: [1] });
    } finally {
      await other.close();
    }
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('names the socket when nothing listens, and times out a silent master', async () => {
    const missing = path.join(dir, 'none.sock');
    await expect(controlRequest(missing, 'status')).rejects.toMatchObject({ code: 'ERR_CONTROL' });
    await expect(controlRequest(missing, 'status')).rejects.toThrow(missing);

    const silentPath = path.join(dir, 'silent.sock');
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(silentPath, r));
    try {
      await expect(controlRequest(silentPath, 'status', { timeoutMs: 200 })).rejects.toThrow(
        'did not answer "status" within 200 ms',
      );
    } finally {
      silent.close();
    }
  });

  it('refuses a socket path longer than a unix socket allows', async () => {
    const long = path.join(dir, `${'x'.repeat(120)}.sock`);
    await expect(listenControl(long, handlers)).rejects.toThrow('set "pidFile" to a shorter path');
  });
});

describe('rpc status text', () => {
  it('renders the header, a row per worker and the per-method percentiles', async () => {
    const { formatStatus, percentile } = await import('../src/cli/status-format.js');
    // 0.05 ms bucket: 50 calls; 1 ms bucket: 49; overflow: 1.
    const buckets = Array.from({ length: 18 }, () => 0);
    buckets[0] = 50;
    buckets[4] = 49;
    buckets[17] = 1;
    expect(percentile(buckets, 0.5)).toBe('0.05');
    expect(percentile(buckets, 0.99)).toBe('1');
    expect(percentile(buckets, 1)).toBe('>10000');
    expect(
      percentile(
        buckets.map(() => 0),
        0.5,
      ),
    ).toBe('-');
    const method = {
      calls: 100,
      successes: 99,
      failures: { INTERNAL_ERROR: 1 },
      totalMs: 60,
      buckets,
      inFlight: 0,
    };
    const text = formatStatus({
      master: {
        pid: 10,
        version: '0.1.0',
        config: '/x/rpc.config.json',
        startedAt: 0,
        uptimeMs: 3_723_000,
        loadavg: [0.5, 0.25, 0],
        rssBytes: 50 * 2 ** 20,
        generation: 2,
        workers: { total: 2, listening: 1, starting: 0, draining: 1, expected: 1 },
      },
      workers: [
        {
          pid: 11,
          service: 'HelloWorld',
          listen: '0.0.0.0:9090',
          state: 'draining',
          generation: 1,
          startedAt: 0,
          uptimeMs: 65_000,
          restarts: 0,
          connections: 1,
          requests: 100,
          errors: 1,
          rssBytes: 60 * 2 ** 20,
          methods: { 'HelloWorld.sayHello': method },
        },
        {
          pid: 12,
          service: 'HelloWorld',
          listen: '0.0.0.0:9090',
          state: 'listening',
          generation: 2,
          startedAt: 0,
          uptimeMs: 1_000,
          restarts: 3,
          connections: null,
          requests: null,
          errors: null,
          rssBytes: null,
          methods: {},
        },
      ],
    });
    expect(text).toContain('uptime 1h02m   load average 0.50 0.25 0.00');
    expect(text).toContain('workers 1/1 listening, 1 draining   generation 2');
    expect(text).toMatch(
      /11 +HelloWorld +0\.0\.0\.0:9090 +draining \(gen 1\) +1m05s +60\.0 MiB +1 +100 +1 +0/,
    );
    expect(text).toMatch(/12 +HelloWorld +0\.0\.0\.0:9090 +listening +1s +- +- +- +- +3/);
    expect(text).toMatch(/HelloWorld\.sayHello +100 +99\.0 +0\.05 +1 +0/);
  });
});
