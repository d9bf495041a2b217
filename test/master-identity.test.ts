/**
 * Which master a pid file and a control socket belong to, as a careless operator meets it: a
 * pid file deleted while the host runs, and a pid file whose pid the kernel gave to an unrelated
 * process after the master died.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { processStartTime } from '../src/master/pid-file.js';
import { alivePids, callOnce, cleanupHost, makeHost, rpc, statusJson, type TestHost } from './helpers/cli.js';

let host: TestHost | undefined;
afterEach(async () => {
  await cleanupHost(host);
  host = undefined;
});

describe('a master whose pid file was deleted', () => {
  it('keeps its control socket when a second start fails, and rpc still reaches it', {
    timeout: 40_000,
  }, async () => {
    host = await makeHost({ count: 1 });
    const h = host;
    expect((await rpc(['start', '-d'], h.dir)).code).toBe(0);
    const before = await statusJson(h);
    fs.rmSync(h.pidFile);

    const second = await rpc(['start', '-d'], h.dir);
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`already running (pid ${before.master.pid}, answering on ${h.pidFile}.sock`);
    expect(fs.existsSync(`${h.pidFile}.sock`)).toBe(true);

    const after = await statusJson(h);
    expect(after.master.pid).toBe(before.master.pid);
    expect(await callOnce(h.port, 'X')).toBe('v1 Hello X');
    expect((await rpc(['stop'], h.dir)).code).toBe(0);
    expect(alivePids([before.master.pid, ...before.workers.map((w) => w.pid)])).toEqual([]);
    expect(fs.existsSync(`${h.pidFile}.sock`)).toBe(false);
  });
});

describe('a pid file naming a recycled pid', () => {
  it('is stale: status and stop exit 3, start replaces it, the unrelated process lives on', {
    timeout: 40_000,
  }, async () => {
    host = await makeHost({ count: 1 });
    const h = host;
    // An unrelated live process holds the pid; the recorded start time is another process's
    // (this one's), as after the master died and its pid was given to someone else.
    const unrelated = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = unrelated.pid as number;
    const recycled = `${pid}\n${processStartTime(process.pid)}\n`;
    try {
      fs.mkdirSync(`${h.dir}/.rpc`, { recursive: true });
      for (const cmd of ['status', 'stop']) {
        fs.writeFileSync(h.pidFile, recycled);
        const res = await rpc([cmd], h.dir);
        expect(res.code, cmd).toBe(3);
        expect(res.stderr, cmd).toContain(`pid ${pid} now belongs to another process`);
        expect(fs.existsSync(h.pidFile), cmd).toBe(false);
      }
      fs.writeFileSync(h.pidFile, recycled);
      const started = await rpc(['start', '-d'], h.dir);
      expect(started.code).toBe(0);
      expect(started.stderr).toContain(`removed stale pid file ${h.pidFile} (pid ${pid} now belongs to another`);
      const { master } = await statusJson(h);
      expect(fs.readFileSync(h.pidFile, 'utf8')).toBe(`${master.pid}\n${processStartTime(master.pid)}\n`);
      expect((await rpc(['stop'], h.dir)).code).toBe(0);
      expect(alivePids([pid])).toEqual([pid]);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});
