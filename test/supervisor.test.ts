/**
 * The supervisor through real processes: a killed worker is replaced and serves; start fails
 * with the reason when a handler throws on load or the port is taken; recycle after
 * maxRequests; graceful stop lets an in-flight call finish; Ctrl-C stops a foreground master.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alivePids,
  callLoop,
  callOnce,
  cleanupHost,
  makeHost,
  portRefuses,
  rawClient,
  rpc,
  spawnForeground,
  statusJson,
  type TestHost,
  waitFor,
} from './helpers/cli.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

describe('supervisor', () => {
  it('replaces a SIGKILLed worker, logs why, and keeps serving', { timeout: 30_000 }, async () => {
    host = await makeHost({ count: 2 });
    const h = host;
    expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
    const before = await statusJson(h);
    const victim = before.workers[0]!;
    process.kill(victim.pid, 'SIGKILL');

    const after = await waitFor(
      async () => {
        const s = await statusJson(h);
        return (
          s.workers.length === 2 &&
          s.workers.every((w) => w.state === 'listening' && w.pid !== victim.pid) &&
          s
        );
      },
      10_000,
      'a replacement worker',
    );
    const replacement = after.workers.find((w) => w.pid !== before.workers[1]!.pid)!;
    expect(replacement.restarts).toBe(1);
    expect(after.master.pid).toBe(before.master.pid);
    for (let i = 0; i < 6; i++) expect(await callOnce(h.port, `n${i}`)).toBe(`v1 Hello n${i}`);
    expect(fs.readFileSync(h.log, 'utf8')).toContain(
      `worker ${victim.pid} exited unexpectedly (signal SIGKILL); respawning in`,
    );
    expect((await rpc(['stop'], h.dir)).code).toBe(0);
  });

  it('fails start -d with the reason when the handler throws on load, leaving nothing behind', async () => {
    host = await makeHost({ handlerSource: "throw new Error('boom on load');\n" });
    const res = await rpc(['start', '-d'], host.dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('boom on load');
    expect(res.stderr).toContain('[ERR_START_FAILED]');
    expect(fs.existsSync(host.pidFile)).toBe(false);
    expect(await portRefuses(host.port)).toBe(true);
    expect((await rpc(['status'], host.dir)).code).toBe(3);
  });

  it('fails start -d with "already in use" when the port is taken', async () => {
    host = await makeHost();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(host!.port, '127.0.0.1', r));
    try {
      const res = await rpc(['start', '-d'], host.dir);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`port ${host.port} is already in use`);
      expect(fs.existsSync(host.pidFile)).toBe(false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('a reload whose new handler throws on load fails with the reason; old workers keep serving', {
    timeout: 30_000,
  }, async () => {
    host = await makeHost({ count: 2 });
    const h = host;
    expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
    const before = await statusJson(h);
    fs.writeFileSync(path.join(h.dir, 'handler.js'), "throw new Error('broken v2');\n");
    const res = await rpc(['reload'], h.dir);
    expect(res.code).toBe(6);
    expect(res.stderr).toContain('Reload of HelloWorld stopped after 0 of 2 workers');
    expect(res.stderr).toContain('broken v2');
    const after = await statusJson(h);
    expect(after.workers.map((w) => w.pid).sort()).toEqual(before.workers.map((w) => w.pid).sort());
    expect(await callOnce(h.port, 'still')).toBe('v1 Hello still');
    expect((await rpc(['stop'], h.dir)).code).toBe(0);
  });

  it('recycles a worker after maxRequests, replacement first, without failed calls', {
    timeout: 30_000,
  }, async () => {
    host = await makeHost({ count: 1, service: { maxRequests: 200 } });
    const h = host;
    expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
    const before = await statusJson(h);
    const loop = callLoop(h.port, 2);
    const after = await waitFor(
      async () => {
        const s = await statusJson(h);
        return s.workers.some((w) => w.pid !== before.workers[0]!.pid && w.state === 'listening') && s;
      },
      15_000,
      'a recycled worker',
    );
    const calls = await loop.stop();
    expect(calls.failed).toBe(0);
    expect(after.workers.find((w) => w.state === 'listening')!.restarts).toBe(0);
    expect(fs.readFileSync(h.log, 'utf8')).toMatch(
      /recycling worker \d+: served \d+ requests \(maxRequests 200\)/,
    );
    await waitFor(() => alivePids([before.workers[0]!.pid]).length === 0, 5000, 'the old worker to exit');
    expect((await rpc(['stop'], h.dir)).code).toBe(0);
  });

  it('stop lets an in-flight call finish before the worker exits', { timeout: 60_000 }, async () => {
    // A graceful timeout far above the call: the stop must end with the call, not with the timeout.
    host = await makeHost({ count: 1, gracefulTimeoutMs: 30_000 });
    const h = host;
    expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
    const status = await statusJson(h);
    const client = rawClient(h.port);
    const slow = client.sayHello('slow:800', 5000);
    await waitFor(async () => (await statusJson(h)).workers[0]!.connections === 1, 5000, 'the connection');
    const t0 = Date.now();
    const stopped = await rpc(['stop'], h.dir);
    expect(stopped.code).toBe(0);
    expect(await slow).toBe('v1 Hello slow:800');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(alivePids([status.master.pid, ...status.workers.map((w) => w.pid)])).toEqual([]);
    client.close();
  });

  it('a foreground master stops gracefully on Ctrl-C (SIGINT to its process group)', {
    timeout: 30_000,
  }, async () => {
    host = await makeHost({ count: 2 });
    const h = host;
    const fg = spawnForeground(h);
    await waitFor(() => fg.output().includes('press Ctrl-C to stop'), 15_000, 'the foreground master');
    const status = await statusJson(h);
    expect(status.master.pid).toBe(fg.child.pid);
    expect(await callOnce(h.port, 'fg')).toBe('v1 Hello fg');
    // Ctrl-C: SIGINT to the whole process group, workers included.
    process.kill(-fg.child.pid!, 'SIGINT');
    const exit = await fg.exited;
    expect(exit.code).toBe(0);
    await waitFor(() => alivePids(status.workers.map((w) => w.pid)).length === 0, 5000, 'workers to exit');
    expect(fs.existsSync(h.pidFile)).toBe(false);
  });
});
